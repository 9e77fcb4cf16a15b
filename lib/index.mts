// ESM entry: the same CommonJS build, with the plugin as the default export.
import { fastifyRealtime } from './index.js'

export * from './index.js'
export default fastifyRealtime
