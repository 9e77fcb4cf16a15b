// Server messages the tests send through app.realtime, built in one place.

/** A system.notification whose `message` is `message` (level info, now). */
export const notification = (message: string) => ({
  type: 'system.notification' as const,
  data: { message, level: 'info' as const, timestamp: new Date().toISOString() }
})
