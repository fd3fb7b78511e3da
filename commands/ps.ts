import {StrataCommand} from '../src/cli/command.js'
import {table} from '../src/cli/table.js'
import {Sessions, type Session, type SessionState} from '../src/runtime/session.js'

type Row = Session & {state: SessionState; path: string}

export default class Ps extends StrataCommand {
  static summary = 'List sessions (mounted stacks), and stale ones whose holder died'
  static examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --json']

  async run(): Promise<{sessions: Row[]}> {
    await this.parse(Ps)
    const sessions = new Sessions(this.home)
    const rows = sessions.list().map((s) => ({...s, path: sessions.path(s)}))
    this.out(table(['STACK', 'PID', 'BACKEND', 'SINCE', 'STATE', 'MOUNTPOINT', 'KIND'], rows.map((s) => [s.stack, String(s.pid), s.backend, s.since, s.state, s.mountpoint, s.root ? 'root' : 'mount'])))
    if (!this.jsonEnabled())
      for (const s of rows.filter((r) => r.state === 'stale'))
        process.stderr.write(`strata: the session of '${s.stack}' is stale (holder ${s.pid} is gone) — \`strata umount ${s.stack}\` or the next \`strata mount ${s.stack}\` cleans it up\n`)
    return {sessions: rows}
  }
}
