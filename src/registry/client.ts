// The OCI distribution API v2 over Node's fetch: one client per registry.
// It finds the scheme (https; http too with --tls-verify=false), answers the
// registry's challenge (Basic, or Bearer tokens from the realm, one per
// scope), retries 429/5xx and dropped connections with backoff, follows
// redirects (blob storage), and turns what a registry says into strata's
// errors: 3 for what isn't there, 5 for auth and reachability.
import {Readable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'
import {environment, integrity, notFound} from '../errors.js'
import {tracer} from '../trace.js'
import {type Challenge, type Credentials, basicHeader, parseChallenge} from './auth.js'
import {apiHost} from './reference.js'

const trace = tracer('strata:registry')

export interface ClientOptions {
  tlsVerify: boolean
  /** The credentials, or how to find them when the registry first asks (auth.ts credentialsWhenAsked). */
  credentials?: Credentials | (() => Credentials | undefined)
  /** Give up on a request that has answered nothing (or whose body stalled) for this long. */
  timeoutMs?: number
  retries?: number
  signal?: AbortSignal
}

type Body = Buffer | (() => Readable) | undefined
interface Req {method?: string; headers?: Record<string, string>; body?: Body; scope: string}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504])
const LOGIN = (registry: string) => `log in with \`podman login ${registry}\` (or skopeo login), or pass --creds USER:PASS or --authfile FILE`

export class RegistryClient {
  private base?: string
  private challenge?: Challenge
  private tokens = new Map<string, string>()
  readonly timeoutMs: number
  readonly retries: number

  private creds(): Credentials | undefined {
    const c = this.opts.credentials
    return typeof c === 'function' ? c() : c
  }

  constructor(readonly registry: string, private opts: ClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? Number(process.env.STRATA_REGISTRY_TIMEOUT ?? 30) * 1000
    this.retries = opts.retries ?? Number(process.env.STRATA_REGISTRY_RETRIES ?? 4)
  }

  /**
   * The API's base URL: https; with --tls-verify=false plain http first (an
   * http server may never answer a TLS hello), then https. Where /v2/ ended
   * up after redirects is the base.
   */
  private async resolveBase(): Promise<string> {
    if (this.base) return this.base
    const host = apiHost(this.registry)
    const schemes = this.opts.tlsVerify ? ['https'] : ['http', 'https']
    let last: unknown
    for (const scheme of schemes) {
      try {
        const res = await this.fetchRetrying(`${scheme}://${host}/v2/`, {method: 'GET'}, `${scheme}://${host}/v2/`)
        await res.body?.cancel()
        if (res.status !== 200 && res.status !== 401) {
          last = environment(`${scheme}://${host}/v2/ answered ${res.status}: not a registry`, 'check the registry\'s name')
          continue
        }
        if (res.status === 401) this.challenge = parseChallenge(res.headers.get('www-authenticate'))
        const end = new URL(res.url || `${scheme}://${host}/v2/`)
        return (this.base = `${end.protocol}//${end.host}`)
      } catch (e) {
        last = e
      }
    }
    throw last
  }

  /** Backoff before retry n (0-based): 0.25 s doubling, or what Retry-After asks (capped). */
  private async backoff(n: number, retryAfter?: string | null) {
    const asked = Number(retryAfter)
    const ms = Number.isFinite(asked) && asked > 0 ? Math.min(asked * 1000, 10000) : Math.min(250 * 2 ** n, 4000)
    await sleep(ms, undefined, {signal: this.opts.signal})
  }

  /** One request, again on a dropped connection or a 429/5xx (the body is made afresh each time). */
  private async fetchRetrying(url: string, init: {method: string; headers?: Record<string, string>; body?: Body}, what: string): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const ac = new AbortController()
      const timer = setTimeout(() => ac.abort(new Error('timeout')), this.timeoutMs)
      const signal = this.opts.signal ? AbortSignal.any([ac.signal, this.opts.signal]) : ac.signal
      const body = typeof init.body === 'function' ? init.body() : init.body
      trace('%s %s%s', init.method, url, attempt ? ` (retry ${attempt})` : '')
      let res: Response
      try {
        res = await fetch(url, {method: init.method, headers: init.headers, body, signal, redirect: 'follow', ...(body instanceof Readable ? {duplex: 'half'} : {})} as RequestInit)
      } catch (e) {
        clearTimeout(timer)
        if (this.opts.signal?.aborted) throw this.opts.signal.reason
        if (body instanceof Readable) body.destroy()
        const cause = networkCause(e, ac.signal.aborted)
        if (attempt < this.retries && !cause.permanent) {
          await this.backoff(attempt)
          continue
        }
        throw environment(`cannot reach the registry ${this.registry} (${what}): ${cause.text}`, cause.hint(this.registry))
      }
      clearTimeout(timer)
      if (RETRY_STATUS.has(res.status) && attempt < this.retries) {
        trace('%s %s: %d, retrying', init.method, url, res.status)
        await res.body?.cancel()
        await this.backoff(attempt, res.headers.get('retry-after'))
        continue
      }
      return res
    }
  }

  /** A bearer token for a scope, from the challenge's realm (with the credentials, if any). */
  private async token(scope: string): Promise<string> {
    const have = this.tokens.get(scope)
    if (have) return have
    const p = this.challenge!.params
    if (!p.realm) throw environment(`the registry ${this.registry} asks for a token but names no realm`, 'the registry is misconfigured; tell its operator')
    const url = new URL(p.realm)
    if (p.service) url.searchParams.set('service', p.service)
    for (const s of scope.split(' ')) url.searchParams.append('scope', s)
    const headers: Record<string, string> = {}
    const creds = this.creds()
    if (creds) headers.authorization = basicHeader(creds)
    const res = await this.fetchRetrying(url.href, {method: 'GET', headers}, 'token')
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel()
      throw this.refused(scope)
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw environment(`the registry ${this.registry}'s token service answered ${res.status} for ${scope}`, 'try again later')
    }
    const j = (await res.json().catch(() => ({}))) as {token?: string; access_token?: string}
    const t = j.token ?? j.access_token
    if (!t) throw environment(`the registry ${this.registry}'s token service gave no token`, 'the registry is misconfigured; tell its operator')
    this.tokens.set(scope, t)
    return t
  }

  private async authorization(scope: string): Promise<string | undefined> {
    const c = this.challenge
    if (!c) return undefined
    if (c.scheme === 'bearer') return 'Bearer ' + (await this.token(scope))
    if (c.scheme === 'basic') {
      const creds = this.creds()
      if (!creds) throw this.required(scope)
      return basicHeader(creds)
    }
    throw environment(`the registry ${this.registry} asks for '${c.scheme}' authentication, which strata doesn't speak`, 'use a registry with Basic or Bearer token auth')
  }

  private required(scope: string) {
    return environment(`the registry ${this.registry} requires authentication (${scope})`, LOGIN(this.registry))
  }

  private refused(scope: string) {
    const c = this.creds()
    return c
      ? environment(`the registry ${this.registry} refused the credentials of '${c.username}' (from ${c.from}) for ${scope}`, `check them; ${LOGIN(this.registry)}`)
      : this.required(scope)
  }

  /** A request to the API (path from /v2/…, or an absolute upload URL), authorized for its scope. */
  async request(path: string, req: Req): Promise<Response> {
    const base = await this.resolveBase()
    const url = /^https?:\/\//.test(path) ? path : base + path
    for (let round = 0; ; round++) {
      const headers: Record<string, string> = {...req.headers}
      const auth = await this.authorization(req.scope)
      if (auth) headers.authorization = auth
      const res = await this.fetchRetrying(url, {method: req.method ?? 'GET', headers, body: req.body}, `${req.method ?? 'GET'} ${path}`)
      if (res.status === 401 && round === 0) {
        // a new challenge (or the first): its scheme, a fresh token for this scope
        await res.body?.cancel()
        this.challenge = parseChallenge(res.headers.get('www-authenticate')) ?? this.challenge
        if (!this.challenge) throw this.required(req.scope)
        this.tokens.delete(req.scope)
        continue
      }
      if (res.status === 401) {
        await res.body?.cancel()
        throw this.refused(req.scope)
      }
      if (res.status === 403) {
        const detail = await errorText(res)
        throw environment(`the registry ${this.registry} denied ${req.scope}${detail ? ` (${detail})` : ''}`, this.creds() ? 'the account may lack access to that repository' : LOGIN(this.registry))
      }
      return res
    }
  }

  /** Fails with the registry's own words: 404 as not found (3), anything else as the environment (5). */
  async fail(res: Response, what: string, hint?: string): Promise<never> {
    const detail = await errorText(res)
    if (res.status === 404) throw notFound(`${what}: not found on ${this.registry}${detail ? ` (${detail})` : ''}`, hint ?? 'check the name and tag (`skopeo list-tags docker://REGISTRY/REPO` lists tags)')
    throw environment(`${what}: the registry ${this.registry} answered ${res.status} ${res.statusText}${detail ? ` (${detail})` : ''}`, 'try again later; if it persists, the registry is at fault')
  }

  /**
   * A blob's bytes as they arrive; a connection that drops or ends early is
   * picked up where it stopped (a Range request), so nothing is fetched twice;
   * from > 0 starts there. onBytes sees every chunk.
   */
  async *blob(repository: string, digest: string, size: number | undefined, onBytes?: (n: number) => void, from = 0): AsyncGenerator<Buffer> {
    let got = from // from: the bytes the caller has already (a pull that was interrupted)
    let failures = 0
    const scope = `repository:${repository}:pull`
    for (;;) {
      if (size !== undefined && got >= size) return
      const headers: Record<string, string> = {'accept-encoding': 'identity'}
      if (got) headers.range = `bytes=${got}-`
      const res = await this.request(`/v2/${repository}/blobs/${digest}`, {headers, scope})
      if (!res.ok) await this.fail(res, `blob ${digest} of ${repository}`, 'the registry lost a blob its manifest names; push the image again')
      let skip = got && res.status === 200 ? got : 0 // a server without ranges sends it all again
      if (got && res.status !== 200 && res.status !== 206) await this.fail(res, `blob ${digest} of ${repository}`)
      const reader = res.body!.getReader()
      let stalled: NodeJS.Timeout | undefined
      const arm = () => {
        clearTimeout(stalled)
        stalled = setTimeout(() => reader.cancel(new Error('stalled')).catch(() => {}), this.timeoutMs)
      }
      let dropped: unknown
      try {
        arm()
        for (;;) {
          const {done, value} = await reader.read()
          if (done) break
          arm()
          let chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
          if (skip) {
            const n = Math.min(skip, chunk.length)
            skip -= n
            chunk = chunk.subarray(n)
            if (!chunk.length) continue
          }
          got += chunk.length
          onBytes?.(chunk.length)
          yield chunk
        }
      } catch (e) {
        if (this.opts.signal?.aborted) throw this.opts.signal.reason
        dropped = e
      } finally {
        clearTimeout(stalled)
        reader.releaseLock()
      }
      if (!dropped && (size === undefined || got >= size)) return
      if (failures++ >= this.retries) {
        if (dropped) throw environment(`the registry ${this.registry} dropped blob ${digest} at byte ${got}${size ? ` of ${size}` : ''} (${(dropped as Error).message}), ${failures} times`, 'try again: a new pull starts from what landed')
        throw integrity(`blob ${digest} of ${repository} is truncated: the registry sent ${got} of ${size} bytes`, 'the registry holds a damaged blob; push the image again')
      }
      trace('blob %s: %s at %d, resuming', digest, dropped ? 'dropped' : 'ended early', got)
      await this.backoff(failures - 1)
    }
  }

  async hasBlob(repository: string, digest: string, scope = `repository:${repository}:pull,push`): Promise<boolean> {
    const res = await this.request(`/v2/${repository}/blobs/${digest}`, {method: 'HEAD', scope})
    await res.body?.cancel()
    if (res.ok) return true
    if (res.status === 404) return false
    return this.fail(res, `HEAD blob ${digest} of ${repository}`)
  }

  /** Mounts a blob from another repository of this registry; false when the registry would rather have it uploaded. */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    const res = await this.request(`/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {method: 'POST', scope: `repository:${repository}:pull,push repository:${from}:pull`})
    await res.body?.cancel()
    if (res.status === 201) return true
    if (res.status === 202) {
      // an upload session was opened instead: close it
      const loc = res.headers.get('location')
      if (loc) await this.request(this.absolute(loc), {method: 'DELETE', scope: `repository:${repository}:pull,push`}).then((r) => r.body?.cancel()).catch(() => {})
      return false
    }
    return false
  }

  private absolute(location: string) {
    return new URL(location, this.base + '/').href
  }

  /** Uploads a blob (POST for a session, one PUT with the digest); the body is made afresh for a retry. */
  async uploadBlob(repository: string, digest: string, size: number, body: () => Readable): Promise<void> {
    const scope = `repository:${repository}:pull,push`
    for (let attempt = 0; ; attempt++) {
      const start = await this.request(`/v2/${repository}/blobs/uploads/`, {method: 'POST', scope, headers: {'content-length': '0'}})
      await start.body?.cancel()
      if (start.status !== 202) await this.fail(start, `starting the upload of ${digest} to ${repository}`)
      const loc = start.headers.get('location')
      if (!loc) throw environment(`the registry ${this.registry} opened an upload without a location`, 'the registry is at fault; tell its operator')
      const url = new URL(this.absolute(loc))
      url.searchParams.set('digest', digest)
      const put = await this.request(url.href, {method: 'PUT', scope, body, headers: {'content-type': 'application/octet-stream', 'content-length': String(size)}})
      if (put.status === 201) {
        await put.body?.cancel()
        return
      }
      const detail = await errorText(put)
      if (/DIGEST_INVALID|BLOB_UPLOAD_INVALID/.test(detail) && attempt < 1) continue
      if (/DIGEST_INVALID/.test(detail)) throw integrity(`the registry ${this.registry} says blob ${digest} doesn't match its digest (${detail})`, 'the layer changed while it was read; run `strata check`')
      throw environment(`uploading ${digest} to ${repository}: the registry ${this.registry} answered ${put.status}${detail ? ` (${detail})` : ''}`, 'try again later')
    }
  }

  async putManifest(repository: string, tag: string, mediaType: string, body: Buffer): Promise<string | null> {
    const res = await this.request(`/v2/${repository}/manifests/${tag}`, {method: 'PUT', scope: `repository:${repository}:pull,push`, body, headers: {'content-type': mediaType}})
    if (res.status !== 201 && res.status !== 200) {
      const detail = await errorText(res)
      if (/BLOB_UNKNOWN|MANIFEST_BLOB_UNKNOWN/.test(detail)) throw integrity(`the registry ${this.registry} lacks a blob of the manifest (${detail})`, 'push again')
      throw environment(`putting the manifest ${repository}:${tag}: the registry ${this.registry} answered ${res.status}${detail ? ` (${detail})` : ''}`, 'try again later')
    }
    await res.body?.cancel()
    return res.headers.get('docker-content-digest')
  }
}

/** The registry's error body, shortened: `CODE: message`. */
async function errorText(res: Response): Promise<string> {
  try {
    const text = await res.text()
    const j = JSON.parse(text) as {errors?: {code?: string; message?: string}[]}
    if (Array.isArray(j.errors) && j.errors.length) return j.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ').slice(0, 200)
    return text.trim().split('\n')[0].slice(0, 120)
  } catch {
    return ''
  }
}

/** Why fetch failed, in words, and whether retrying could help. */
function networkCause(e: unknown, timedOut: boolean): {text: string; permanent: boolean; hint: (r: string) => string} {
  const cause = (e as {cause?: NodeJS.ErrnoException}).cause ?? (e as NodeJS.ErrnoException)
  const code = cause?.code ?? ''
  const check = (r: string) => `check that ${r} is the registry's name and that it is up (try \`curl -sI https://${apiHost(r)}/v2/\`)`
  if (timedOut) return {text: 'no answer (timed out)', permanent: false, hint: check}
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return {text: `no such host (${code})`, permanent: code === 'ENOTFOUND', hint: check}
  if (code === 'ECONNREFUSED') return {text: 'connection refused', permanent: false, hint: check}
  if (/CERT|SSL|TLS|ERR_SSL|self.signed|EPROTO/i.test(code + ' ' + (cause?.message ?? '')))
    return {text: `TLS failed (${code || cause?.message})`, permanent: true, hint: (r) => `if ${r} serves plain http or a certificate you trust, pass --tls-verify=false (or add its CA with NODE_EXTRA_CA_CERTS)`}
  return {text: `${code || (cause as Error)?.message || String(e)}`, permanent: false, hint: check}
}

