export * from './server-messages.js'
export * from './client-messages.js'
export * from './codes.js'
export * from './positions.js'
