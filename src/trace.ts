// DEBUG=strata:* tracing through the `debug` package, loaded only when DEBUG
// is set: start-up time is part of every command.
import {createRequire} from 'node:module'

type Log = (fmt: string, ...args: unknown[]) => void

export function tracer(namespace: string): Log {
  if (!process.env.DEBUG) return () => {}
  let log: Log | undefined
  return (fmt, ...args) => {
    log ??= createRequire(import.meta.url)('debug')(namespace) as Log
    log(fmt, ...args)
  }
}
