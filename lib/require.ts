// CommonJS entry: require('fastify-realtime') returns the plugin itself, with
// every named export on it (the Fastify trio: default, named, module.exports).
// Kept apart from index.ts so Node can still detect index.js's named exports
// for ESM importers.
import * as everything from './index.js'

module.exports = Object.assign(everything.fastifyRealtime, everything)
