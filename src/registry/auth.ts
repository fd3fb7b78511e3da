// Credentials for a registry, from where podman and skopeo keep them (so that
// `podman login`/`skopeo login` just work), and the two schemes registries
// challenge with (WWW-Authenticate): Basic, and Bearer tokens fetched from
// the realm the challenge names, one per scope.
import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {usage} from '../errors.js'

export interface Credentials {username: string; password: string; from: string}

/** podman's order: --authfile (alone), else $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, $XDG_CONFIG_HOME/containers/auth.json, ~/.docker/config.json. */
export function authFiles(authfile?: string): string[] {
  if (authfile) return [authfile]
  const env = process.env
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config')
  return [
    ...(env.REGISTRY_AUTH_FILE ? [env.REGISTRY_AUTH_FILE] : []),
    ...(env.XDG_RUNTIME_DIR ? [join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')] : []),
    join(config, 'containers', 'auth.json'),
    join(homedir(), '.docker', 'config.json'),
  ]
}

/** An auths key as podman compares it: no scheme, Docker Hub's legacy names as docker.io, no /v1/ path. */
function normalizeKey(key: string): string {
  let k = key.replace(/^https?:\/\//, '')
  if (/^(index\.|registry-1\.)?docker\.io(\/v[12]\/?)?$/.test(k)) return 'docker.io'
  if (key !== k) k = k.split('/')[0] // a legacy URL key names a host only
  return k.replace(/\/+$/, '')
}

/**
 * The credentials for registry/repository: the first file that has any for it,
 * within a file the most specific key (registry/ns/repo, then registry/ns, then registry).
 */
export function findCredentials(registry: string, repository: string, files: string[], explicit = false): Credentials | undefined {
  const keys: string[] = []
  const parts = repository.split('/')
  for (let n = parts.length; n > 0; n--) keys.push(`${registry}/${parts.slice(0, n).join('/')}`)
  keys.push(registry)
  for (const file of files) {
    if (!existsSync(file)) {
      if (explicit) throw usage(`no such auth file: ${file}`, 'give the file `podman login --authfile` wrote, or leave --authfile out')
      continue
    }
    let auths: Record<string, {auth?: string}>
    try {
      auths = (JSON.parse(readFileSync(file, 'utf8')) as {auths?: Record<string, {auth?: string}>}).auths ?? {}
    } catch (e) {
      throw usage(`${file} is not an auth file: ${(e as Error).message.split('\n')[0]}`, 'repair it, or log in again with `podman login`')
    }
    const byKey = new Map(Object.entries(auths).map(([k, v]) => [normalizeKey(k), v]))
    for (const k of keys) {
      const a = byKey.get(k)?.auth
      if (!a) continue
      const plain = Buffer.from(a, 'base64').toString('utf8')
      const colon = plain.indexOf(':')
      if (colon < 0) throw usage(`${file}: the credentials for ${k} are malformed`, 'log in again with `podman login`')
      return {username: plain.slice(0, colon), password: plain.slice(colon + 1), from: file}
    }
  }
  return undefined
}

/** --creds USER[:PASS] */
export function parseCreds(creds: string): Credentials {
  const colon = creds.indexOf(':')
  if (colon <= 0) throw usage('--creds takes USERNAME:PASSWORD', 'e.g. --creds alice:s3cret')
  return {username: creds.slice(0, colon), password: creds.slice(colon + 1), from: '--creds'}
}

export interface Challenge {scheme: string; params: Record<string, string>}

/** WWW-Authenticate: `Bearer realm="…",service="…",scope="…"` (quoted or token values; the first challenge counts). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy
  re.lastIndex = 0
  const rest = m[2]
  for (let p; (p = re.exec(rest)); ) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  return {scheme: m[1].toLowerCase(), params}
}

export const basicHeader = (c: Credentials) => 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64')
