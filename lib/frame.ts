import WebSocket from 'ws'

interface FrameOptions { fin: boolean, opcode: number, mask: boolean, readOnly: boolean, rsv1: boolean }
// ws exports its Sender at runtime; @types/ws does not describe it
const { Sender } = WebSocket as unknown as { Sender: { frame (data: Buffer, options: FrameOptions): Buffer[] } }

/**
 * Frames a text message once for all its recipients: the server's frames
 * are unmasked, so the same header and payload bytes are valid on every
 * socket. One Buffer (header + payload) means one write per socket, with
 * no per-socket header allocation or cork/uncork.
 */
export function frameText (payload: Buffer): Buffer {
  const [header, data] = Sender.frame(payload, { fin: true, opcode: 0x01, mask: false, readOnly: true, rsv1: false })
  /* c8 ignore next */ // ws returns the header alone only for an empty payload, which an envelope never is
  return data === undefined ? header as Buffer : Buffer.concat([header as Buffer, data])
}
