// The part of tap's Test that the helpers use: they take `t` to register
// their cleanup, never to assert. One definition for every helper module.

/** Registers cleanup; tap runs teardowns last-registered-first. */
export interface Teardown { teardown (fn: () => unknown): void }

/** A test that can declare its plan (a file that skips with one line). */
export interface Plannable { plan (n: number, reason?: string): void }
