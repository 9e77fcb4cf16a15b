// Waiting for state that no event announces (a count on the server, a key in
// Redis): poll a check on a short timer, never a fixed sleep.

/**
 * Resolves once `check` holds (it may be async, for a Redis read); rejects
 * with "timed out waiting for <what>" after `timeoutMs`. Polls every
 * `intervalMs`, yielding to the event loop in between.
 */
export async function eventually (check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}
