// A child process driven over JSON lines; every child is killed when the
// runner exits, and children exit by themselves when their stdin closes.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const live = new Set()

function killAll () {
  for (const child of live) {
    try { child.proc.kill('SIGKILL') } catch {}
  }
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll()
    process.exit(130)
  })
}

export class Child {
  #pending = new Map()
  #nextId = 1
  #stderr = ''
  #exited = false

  constructor (name, script, { nodeArgs = [], env = {}, readyTimeoutMs = 30_000 } = {}) {
    this.name = name
    this.proc = spawn(process.execPath, [...nodeArgs, script], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    this.pid = this.proc.pid
    live.add(this)
    this.proc.stderr.on('data', (d) => { this.#stderr = (this.#stderr + d).slice(-4000) })
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${readyTimeoutMs} ms\n${this.#stderr}`)), readyTimeoutMs)
      this.proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${name}: exited with ${code} before ready\n${this.#stderr}`))
      })
      createInterface({ input: this.proc.stdout }).on('line', (line) => {
        let msg
        try { msg = JSON.parse(line) } catch { return }
        if (msg.ready === true) {
          clearTimeout(timer)
          this.info = msg
          resolve(msg)
          return
        }
        const p = this.#pending.get(msg.id)
        if (p === undefined) return
        this.#pending.delete(msg.id)
        if (msg.ok) p.resolve(msg)
        else p.reject(new Error(`${name}: ${msg.error}`))
      })
    })
    this.ready.catch(() => {})
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.#exited = true
        live.delete(this)
        for (const p of this.#pending.values()) p.reject(new Error(`${name}: exited (${code ?? signal})\n${this.#stderr}`))
        this.#pending.clear()
        resolve({ code, signal })
      })
    })
  }

  get stderr () { return this.#stderr }

  request (cmd, args = {}, timeoutMs = 60_000) {
    if (this.#exited) return Promise.reject(new Error(`${this.name}: already exited\n${this.#stderr}`))
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.name}: ${cmd} timed out after ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
      this.proc.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    })
  }

  /** Asks the child to exit, kills it if it has not after `graceMs`. */
  async stop (graceMs = 2000) {
    if (this.#exited) return
    try { this.proc.stdin.end() } catch {}
    const timer = setTimeout(() => { try { this.proc.kill('SIGKILL') } catch {} }, graceMs)
    await this.exited
    clearTimeout(timer)
  }
}
