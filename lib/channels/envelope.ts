/**
 * The same message with `channel` added, from its JSON text: the server's
 * envelopes are JSON objects, so the field goes before the closing brace
 * (same id and timestamp, nothing parsed or re-encoded).
 */
export function withChannelField (text: string, channel: string): string {
  return `${text.slice(0, -1)},"channel":${JSON.stringify(channel)}}`
}
