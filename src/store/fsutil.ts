// Small filesystem helpers the store shares.
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {mkdirSync} from 'node:fs'

/** Removes a tree whatever its modes (run inside the namespace, where we own it). */
export function removeTree(p: string | Buffer) {
  rmSync(p, {recursive: true, force: true})
}

/** A fresh directory under tmp/ for staging; the caller publishes it by rename. */
export function stagingDir(tmp: string, kind: string): string {
  const d = join(tmp, `${kind}-${process.pid}-${randomBytes(6).toString('hex')}`)
  mkdirSync(d, {recursive: true, mode: 0o700})
  return d
}
