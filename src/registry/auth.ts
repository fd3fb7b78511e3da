// Credentials for a registry, from where podman and skopeo keep them (so that
// `podman login`/`skopeo login` just work), including the credential helpers
// those files name (credHelpers, credsStore: `docker-credential-NAME get`),
// and the two schemes registries challenge with (WWW-Authenticate): Basic,
// and Bearer tokens fetched from the realm the challenge names, one per scope.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {environment, usage} from '../errors.js'
import {hostTool, trace} from '../exec.js'

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

interface AuthFile {auths?: Record<string, {auth?: string}>; credHelpers?: Record<string, string>; credsStore?: string}

/**
 * The credentials for registry/repository, in each file (in order) from its
 * credential helper for that registry (credHelpers), then its most specific
 * `auths` key (registry/ns/repo, then registry/ns, then registry), then its
 * default helper (credsStore); the first that has any wins, as with podman
 * and docker. A helper that knows nothing of the registry passes on to what
 * follows; one that is missing or fails stops the command (exit 5).
 */
export function findCredentials(registry: string, repository: string, files: string[], explicit = false): Credentials | undefined {
  const keys: string[] = []
  const parts = repository.split('/')
  for (let n = parts.length; n > 0; n--) keys.push(`${registry}/${parts.slice(0, n).join('/')}`)
  keys.push(registry)
  for (const file of files) {
    const f = readAuthFile(file, explicit)
    if (!f) continue
    const helpers = new Map(Object.entries(f.credHelpers ?? {}).map(([k, v]) => [normalizeKey(k), v]))
    const own = helpers.get(registry)
    if (own) {
      const c = fromHelper(own, registry, `${file} (credHelpers)`)
      if (c) return c
    }
    const byKey = new Map(Object.entries(f.auths ?? {}).map(([k, v]) => [normalizeKey(k), v]))
    for (const k of keys) {
      const a = byKey.get(k)?.auth
      if (!a) continue
      const plain = Buffer.from(a, 'base64').toString('utf8')
      const colon = plain.indexOf(':')
      if (colon < 0) throw usage(`${file}: the credentials for ${k} are malformed`, 'log in again with `podman login`')
      return {username: plain.slice(0, colon), password: plain.slice(colon + 1), from: file}
    }
    if (f.credsStore) {
      const c = fromHelper(f.credsStore, registry, `${file} (credsStore)`)
      if (c) return c
    }
  }
  return undefined
}

/**
 * findCredentials when first needed (a registry that challenges): helpers
 * are programs, and an anonymous pull runs none. An --authfile that isn't
 * there is refused at once.
 */
export function credentialsWhenAsked(registry: string, repository: string, authfile?: string): () => Credentials | undefined {
  if (authfile) readAuthFile(authfile, true)
  let found: {c: Credentials | undefined} | undefined
  return () => (found ??= {c: findCredentials(registry, repository, authFiles(authfile), !!authfile)}).c
}

function readAuthFile(file: string, explicit: boolean): AuthFile | undefined {
  if (!existsSync(file)) {
    if (explicit) throw usage(`no such auth file: ${file}`, 'give the file `podman login --authfile` wrote, or leave --authfile out')
    return undefined
  }
  let f: AuthFile
  try {
    f = JSON.parse(readFileSync(file, 'utf8')) as AuthFile
  } catch (e) {
    throw usage(`${file} is not an auth file: ${(e as Error).message.split('\n')[0]}`, 'repair it, or log in again with `podman login`')
  }
  if (!f || typeof f !== 'object') throw usage(`${file} is not an auth file: not a JSON object`, 'repair it, or log in again with `podman login`')
  for (const h of [...Object.values(f.credHelpers ?? {}), ...(f.credsStore !== undefined ? [f.credsStore] : [])])
    if (typeof h !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(h)) throw usage(`${file} names the credential helper '${String(h)}', which is no helper's name`, 'name the helper as docker does (`"credsStore": "pass"` runs docker-credential-pass)')
  return f
}

/** The server a helper is asked about: the registry, and Docker Hub by the address docker logs in to. */
const helperServer = (registry: string) => (registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry)

/**
 * `docker-credential-NAME get` with the server on stdin, as docker, podman
 * and skopeo run it: {Username, Secret} on stdout, or "credentials not
 * found" (undefined: the next source is asked).
 */
function fromHelper(name: string, registry: string, where: string): Credentials | undefined {
  const program = `docker-credential-${name}`
  const fix = `install ${program} on PATH, or remove '${name}' from ${where.replace(/ \(.*\)$/, '')}`
  const path = hostTool(program)
  const missing = () => environment(`the credential helper ${program} that ${where} names for ${registry} is not on PATH`, fix)
  if (!path.includes('/')) throw missing()
  trace('%s get (%s)', path, registry)
  const r = spawnSync(path, ['get'], {input: helperServer(registry) + '\n', encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 20})
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw missing()
    throw environment(`the credential helper ${program} (${where}) failed for ${registry}: ${code === 'ETIMEDOUT' ? 'no answer in 60 s' : r.error.message}`, fix)
  }
  const said = (r.stdout.trim() || r.stderr.trim()).split('\n')[0].slice(0, 160)
  if (r.status !== 0) {
    if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined
    throw environment(`the credential helper ${program} (${where}) failed for ${registry}: ${said || `exit ${r.status ?? r.signal}`}`, `check it with \`echo ${helperServer(registry)} | ${program} get\`, or log in again`)
  }
  let j: {Username?: unknown; Secret?: unknown}
  try {
    j = JSON.parse(r.stdout) as typeof j
  } catch {
    throw environment(`the credential helper ${program} (${where}) answered no JSON for ${registry}: ${said}`, `check it with \`echo ${helperServer(registry)} | ${program} get\``)
  }
  if (typeof j.Username !== 'string' || typeof j.Secret !== 'string' || !j.Username)
    throw environment(`the credential helper ${program} (${where}) gave no Username and Secret for ${registry}`, `check it with \`echo ${helperServer(registry)} | ${program} get\``)
  if (j.Username === '<token>') throw environment(`the credential helper ${program} (${where}) gave an identity token for ${registry}, which strata doesn't use`, `log in with a password or access token (\`podman login ${registry}\`), or pass --creds`)
  return {username: j.Username, password: j.Secret, from: program}
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
