// `--net private`: the sandbox's own network namespace, with outbound access
// through pasta (Debian's passt), the user-mode networking rootless podman
// uses. pasta has to run on the host's side (it opens the host's sockets for
// the sandbox), and the namespace exists only once the sandbox's first process
// runs in it: so the outer strata listens on a unix socket, the process inside
// says its pid there, the outer starts pasta on that pid and answers once the
// interface is configured; only then does the sandbox go on, so its command
// never sees a network that is not up yet. pasta runs in the foreground as our
// child with a parent-death signal: it ends with the run, or with strata if
// strata is killed (it would not end by itself when the namespace goes). A
// root session's pasta must outlive `strata mount`: it runs under a detached
// keeper (`strata-ns --plain / --watch HOLDER`) that ends it with the holder.
import {spawn, type ChildProcess} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import {closeSync, mkdtempSync, openSync, readFileSync, rmSync, watch} from 'node:fs'
import {join} from 'node:path'
import {runtimeDir} from '../store/home.js'
import {usage} from '../errors.js'
import {trace} from '../exec.js'
import {hostTool} from './host-tools.js'
import {nsHelper} from './protections.js'

export interface Publish {host: number; port: number}

/** `--publish HOSTPORT:PORT`, podman's spelling (TCP). */
export function parsePublish(specs: string[]): Publish[] {
  return specs.map((s) => {
    const m = /^(\d{1,5}):(\d{1,5})(\/tcp)?$/.exec(s)
    const ok = (n: number) => n >= 1 && n <= 65535
    if (!m || !ok(Number(m[1])) || !ok(Number(m[2]))) throw usage(`invalid --publish '${s}'`, 'give HOSTPORT:PORT, e.g. --publish 8080:80 (TCP)')
    return {host: Number(m[1]), port: Number(m[2])}
  })
}

/** pasta's arguments: configure the interface; forward only what --publish names, nothing automatically. */
export function pastaArgs(publish: Publish[], pidFile: string, pid: number): string[] {
  const tcp = publish.length ? publish.flatMap((p) => ['-t', `${p.host}:${p.port}`]) : ['-t', 'none']
  // -T/-U none: the sandbox's own loopback ports are not forwarded to the host's (pasta's default is auto);
  // the host's loopback is reachable at the gateway address, as with slirp4netns and podman's default
  return ['-f', '--config-net', '--quiet', '-P', pidFile, ...tcp, '-u', 'none', '-T', 'none', '-U', 'none', String(pid)]
}

/** The outer side: a socket the sandbox calls once it is in its network namespace. */
export class PrivateNet {
  private pasta: ChildProcess | null = null
  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly socket: string,
    private readonly keep: {log: string} | undefined,
  ) {}

  /** With keep, pasta outlives us under a keeper that ends it with the pid the sandbox names (a session's holder); it writes to keep.log. */
  static async listen(publish: Publish[], keep?: {log: string}): Promise<PrivateNet> {
    const pasta = hostTool('pasta', 'install passt (Debian: apt install passt)')
    const setpriv = hostTool('setpriv', 'install util-linux')
    const dir = mkdtempSync(join(runtimeDir(), 'net-'))
    const socket = join(dir, 'sock')
    let self: PrivateNet | undefined
    const server = createServer((conn) => {
      let line = ''
      conn.setEncoding('utf8')
      conn.on('error', () => {})
      conn.on('data', (d: string) => {
        line += d
        if (!line.includes('\n') || !self) return
        self.start(pasta, setpriv, publish, Number(line.trim())).then(
          () => conn.end('ok\n'),
          (e: Error) => conn.end(`error ${e.message.replace(/\n/g, ' ')}\n`),
        )
      })
    })
    await new Promise<void>((res, rej) => {
      server.once('error', rej)
      server.listen(socket, res)
    })
    server.unref()
    self = new PrivateNet(server, dir, socket, keep)
    return self
  }

  /** Starts pasta on the sandbox's pid; resolves once it has configured the interface (it writes its pid file then). */
  private start(pasta: string, setpriv: string, publish: Publish[], pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) return Promise.reject(new Error('bad pid from the sandbox'))
    const pidFile = join(this.dir, 'pasta.pid')
    const keeper = this.keep ? nsHelper() : setpriv
    const argv = this.keep ? ['--plain', '/', '--watch', String(pid), '--', pasta, ...pastaArgs(publish, pidFile, pid)] : ['--pdeathsig', 'KILL', '--', pasta, ...pastaArgs(publish, pidFile, pid)]
    trace('%s %o', keeper, argv)
    return new Promise((res, rej) => {
      const ready = () => {
        try {
          return /^\d+\n/.test(readFileSync(pidFile, 'utf8'))
        } catch {
          return false
        }
      }
      // pasta writes its pid file once the interface is configured: a watch on its directory, and a short
      // poll beside it (an inotify event can be missed, e.g. when the user's inotify instances run out)
      let watcher: {close(): void} = {close() {}}
      try {
        watcher = watch(this.dir, () => ready() && done())
      } catch {}
      const poll = setInterval(() => ready() && done(), 10)
      const log = this.keep ? openSync(this.keep.log, 'a') : null
      const child = spawn(keeper, argv, {stdio: ['ignore', 'ignore', log ?? 'pipe'], detached: log !== null})
      if (log !== null) closeSync(log)
      this.pasta = child
      let said = ''
      child.stderr?.on('data', (d: Buffer) => (said += d.toString()))
      const done = (e?: Error) => {
        watcher.close()
        clearInterval(poll)
        if (e) rej(e)
        else res()
      }
      child.on('error', (e) => done(e))
      child.on('exit', (code, signal) => done(new Error(`pasta could not set up the network (${signal ?? `exit ${code}`})${said ? `: ${said.trim().split('\n').pop()}` : this.keep ? `: see ${this.keep.log}` : ''}`)))
      if (ready()) done()
    })
  }

  /**
   * The run is over: pasta and the socket go; resolves once pasta has ended
   * (its ports are free again). With keep and a session that started, only
   * the socket goes: pasta stays under its keeper.
   */
  async close(started = false) {
    const p = this.pasta
    if (this.keep && started && p) {
      p.removeAllListeners('exit')
      p.unref()
    } else if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((res) => p.once('exit', res))
      p.kill('SIGKILL')
      await gone
    }
    this.server.close()
    rmSync(this.dir, {recursive: true, force: true})
  }
}
