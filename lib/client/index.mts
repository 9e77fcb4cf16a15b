// ESM entry of fastify-realtime/client: the same CommonJS build, re-exported.
export * from './index.js'
