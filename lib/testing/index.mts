// ESM entry of fastify-realtime/testing: the same CommonJS build, re-exported.
export * from './index.js'
