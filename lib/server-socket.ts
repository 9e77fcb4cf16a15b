/**
 * The part of a ws WebSocket that a connection uses, written out here so that
 * the published .d.ts files never import types from 'ws' (a host app has no
 * @types/ws; the pack test compiles against the tarball with skipLibCheck off).
 * A ws WebSocket satisfies it as is.
 */
export interface ServerSocket {
  readonly bufferedAmount: number
  readonly readyState: number
  send (data: Buffer | string, options: { binary: boolean }): void
  ping (): void
  close (code?: number, reason?: string): void
  terminate (): void
}
