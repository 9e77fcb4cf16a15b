// A CPU profile of one measured phase, taken inside a target process
// (node:inspector, V8's sampling profiler) and summarized there: self time
// by layer (the plugin, Fastify, ws, Node's own JavaScript, native code and
// system calls, GC, ...) and the functions that took the most. The runner
// (bench/profile.mjs) asks for it with the `profileStart` and `profileStop`
// control commands, so the profile covers the phase alone, not start-up.
import { Session } from 'node:inspector/promises'

let session

export async function profileStart ({ intervalUs = 100 } = {}) {
  session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs })
  await session.post('Profiler.start')
  return {}
}

export async function profileStop ({ top = 40 } = {}) {
  const { profile } = await session.post('Profiler.stop')
  if (process.env.PROFILE_DUMP) (await import('node:fs')).writeFileSync(`${process.env.PROFILE_DUMP}-${process.pid}.cpuprofile`, JSON.stringify(profile))
  await session.post('Profiler.disable')
  session.disconnect()
  session = undefined
  return summarizeProfile(profile, top)
}

/**
 * Where a function's code comes from. Native functions (no URL) are Node's
 * bindings and V8's builtins: the system calls (writev, read), the HTTP
 * parser, the crypto of the JWT's HMAC.
 */
export function layerOf (callFrame) {
  const { url, functionName } = callFrame
  if (functionName === '(garbage collector)') return 'gc'
  if (functionName === '(idle)') return 'idle'
  if (functionName === '(program)' || functionName === '(root)') return 'native'
  if (!url) return 'native'
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (m) {
    const pkg = m[1]
    if (pkg === 'ws') return 'ws'
    if (pkg === 'fast-jwt') return 'jwt'
    if (pkg === 'fastify' || pkg.startsWith('@fastify/') || ['find-my-way', 'avvio', 'light-my-request', 'fastify-plugin', 'abstract-logging', 'pino', 'toad-cache', 'fast-querystring', 'process-warning', 'fast-json-stringify', 'rfdc', 'fast-uri', 'ret', 'safe-regex2', 'json-schema-ref-resolver'].includes(pkg)) return 'fastify'
    if (['socket.io', 'engine.io', 'socket.io-parser', 'socket.io-adapter', 'base64id', 'cookie', 'cors', 'debug', 'ms'].includes(pkg)) return 'socket.io'
    return 'other packages'
  }
  if (url.startsWith('node:')) return 'node'
  if (/\/dist\//.test(url)) return 'fastify-realtime'
  if (/\/bench\//.test(url)) return 'bench harness'
  return 'other packages'
}

export const LAYERS = ['fastify-realtime', 'fastify', 'socket.io', 'ws', 'jwt', 'node', 'native', 'gc', 'other packages', 'bench harness']

export function summarizeProfile (profile, top = 40) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  // Each sample stands for the time since the one before it. The first is
  // left out: it carries the time from Profiler.start to the sampler's
  // first tick, which on this VM can be 100 ms spent anywhere. Idle samples
  // (the thread waiting for I/O) are counted apart and left out below.
  const selfUs = new Map()
  for (let i = 1; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const layers = {}
  const functions = new Map()
  let sampledUs = 0
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)
    const layer = layerOf(callFrame)
    if (layer === 'idle') continue
    sampledUs += us
    layers[layer] = (layers[layer] ?? 0) + us
    const file = callFrame.url ? callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/') : ''
    const name = `${callFrame.functionName || '(anonymous)'}${file ? ` ${file}:${callFrame.lineNumber + 1}` : ''}`
    const key = `${layer}\u0000${name}`
    functions.set(key, (functions.get(key) ?? 0) + us)
  }
  const topFunctions = [...functions].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, us]) => {
    const [layer, name] = key.split('\u0000')
    return { layer, name, us: Math.round(us) }
  })
  for (const k of Object.keys(layers)) layers[k] = Math.round(layers[k])
  return { sampledUs: Math.round(sampledUs), samples: profile.samples.length, layers, topFunctions }
}
