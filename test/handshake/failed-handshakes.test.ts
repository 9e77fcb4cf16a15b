import t from 'tap'
import { FailedHandshakes, addressKey } from '../../lib/failed-handshakes.js'

// The counter behind the handshake flood bound, as a plain object (the socket
// behaviour is in handshake-budget.test.ts).

t.test('the flood bound\'s memory is bounded whatever the number of addresses', async (t) => {
  const failures = new FailedHandshakes({ max: 2, windowMs: 1000 }, 100)
  for (let i = 0; i < 1000; i++) failures.failed(`10.0.${i >> 8}.${i & 255}`, 0)
  t.equal(failures.trackedAddresses, 100, 'the oldest windows were forgotten')
  failures.failed('10.0.3.231', 1)
  t.ok(failures.retryAfterMs('10.0.3.231', 1) > 0, 'a remembered address that failed twice is refused')
  t.equal(failures.retryAfterMs('10.0.3.231', 1000), 0, 'until its window ends')
  failures.succeeded('10.0.3.230', 2)
  failures.failed('10.0.3.230', 2)
  t.equal(failures.retryAfterMs('10.0.3.230', 2), 0, 'a success buys one more failure')
})

t.test('addresses are counted by IPv4 address and by IPv6 /64', async (t) => {
  t.equal(addressKey('203.0.113.7'), '203.0.113.7')
  t.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7', 'IPv4-mapped IPv6 is the IPv4 address')
  t.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
  t.equal(addressKey('2001:DB8:1:2::99'), '2001:db8:1:2::/64', 'the same /64, compressed and upper case')
  t.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressKey('::1'), '0:0:0:0::/64')
  t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'zone ids do not make new addresses')
  t.equal(addressKey('2001:db8:1:2::'), '2001:db8:1:2::/64', 'nothing after the ::')
  t.not(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'), 'another /64 is another address')
})
