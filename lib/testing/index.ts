// fastify-realtime/testing: a toolkit to test a host app's realtime routes
// over real sockets. Its public types import nothing from 'ws'.
export { connect } from './connect.js'
export { expectRefused } from './connect.js'
export { cluster } from './cluster.js'
export type { ClusterOptions, ClusterNodeContext, TestCluster } from './cluster.js'
export { InProcessBus } from './in-process-bus.js'
export { manualClock } from './manual-clock.js'
export type { ManualClock } from './manual-clock.js'
export type { InProcessBusOptions } from './in-process-bus.js'
export type {
  RealtimeTestClient, TestIdentity, TokenSigner, TokenTransport, ConnectOptions, WaitOptions, ExpectNothingOptions, CloseInfo
} from './types.js'
export {
  TestTimeoutError, TestConnectionClosedError, UnexpectedMessagesError, HandshakeRefusedError, ServerErrorReplyError, TestSetupError
} from './errors.js'
export type { HandshakeRefusal, ErrorReply, UnexpectedMessages } from './errors.js'
export type { SubscribeRequest, UnsubscribeRequest, MarkerSender } from './types.js'
