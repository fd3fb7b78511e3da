// Mount option strings for overlayfs. Paths are escaped the way the kernel's
// option parser reads them; util-linux 2.38 passes the string to mount(2),
// which cuts it at 4095 bytes without a word, so the length is checked here.
import {environment} from '../errors.js'

export const OPTION_LIMIT = 4095

/** Escapes `\`, `,` and `:` in one path (`,` splits options, `:` splits lowers). */
export const escapePath = (p: string) => p.replace(/[\\,:]/g, (c) => '\\' + c)

export interface OverlayOptions {
  lower: string[] // top first
  dataOnly?: string[] // data-only lowers, after `::`
  upper?: string
  work?: string
  userxattr?: boolean
  extra?: string[]
}

export function overlayOptions(o: OverlayOptions): string {
  let lowerdir = o.lower.map(escapePath).join(':')
  for (const d of o.dataOnly ?? []) lowerdir += '::' + escapePath(d)
  const parts = [`lowerdir=${lowerdir}`]
  if (o.upper) parts.push(`upperdir=${escapePath(o.upper)}`)
  if (o.work) parts.push(`workdir=${escapePath(o.work)}`)
  if (o.userxattr ?? true) parts.push('userxattr')
  parts.push(...(o.extra ?? []))
  const s = parts.join(',')
  if (Buffer.byteLength(s) > OPTION_LIMIT)
    throw environment(
      `overlay mount options are ${Buffer.byteLength(s)} bytes, over the kernel's ${OPTION_LIMIT}-byte limit`,
      'use a shorter STRATA_HOME or stack name',
    )
  return s
}
