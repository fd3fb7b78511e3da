// strata pull and push against the real registry (Debian's docker-registry,
// the CNCF distribution registry) started here on 127.0.0.1, with and
// without htpasswd auth; skopeo pushes the fixture images in and reads
// strata's pushes back, umoci unpacks them for comparison. Faults a real
// registry won't make (altered bytes, 500s, silence, dropped connections,
// Bearer tokens, schema 1) come from a small proxy in front of it: it
// passes everything through except what a case changes.
import {test, before, after} from 'node:test'
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {createServer} from 'node:http'
import {createHash, randomBytes} from 'node:crypto'
import {gzipSync} from 'node:zlib'
import {writeFileSync, mkdirSync, existsSync, readFileSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {newHome, cleanHome, inNs, tmp, root, bin, scratch, listing} from './helpers.js'
import {tarOf} from './fixtures/tar.js'
import {compare, umociView} from './fixtures/umoci-view.js'
import {freePort, startRegistry} from './fixtures/registry.js'

const scan = join(root, 'test', 'fixtures', 'scan.js')
const parse = (out) => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l))
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex')
const insecure = '--tls-verify=false'

/** strata, without blocking this process: the proxy in front of the registry answers from this event loop. */
function sa(home, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {env: {...process.env, STRATA_HOME: home, NO_COLOR: '1', ...opts.env}, stdio: ['ignore', 'pipe', 'pipe']})
    const out = []
    const err = []
    child.stdout.on('data', (d) => out.push(d))
    child.stderr.on('data', (d) => err.push(d))
    child.on('close', (status, signal) => {
      const stdoutBuf = Buffer.concat(out)
      let json
      if (args.includes('--json')) {
        try {
          json = JSON.parse(stdoutBuf.toString())
        } catch {}
      }
      resolve({status, signal, stdout: stdoutBuf.toString(), stderr: Buffer.concat(err).toString(), stdoutBuf, json})
    })
  })
}

/** A program, without blocking this process (it may talk to the proxy). */
function runAsync(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], ...opts})
    const out = []
    let err = ''
    child.stdout.on('data', (d) => out.push(d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (status) => (status === 0 ? resolve({stdout: Buffer.concat(out)}) : reject(new Error(`${cmd} ${args.join(' ')}: ${err}`))))
  })
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...opts})
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`)
  return r
}

/** A proxy in front of a registry; fault(req, url) may answer a request itself (return true). Counts blob GETs by digest. */
async function startProxy(upstream) {
  const state = {fault: null, blobGets: new Map(), requests: []}
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x')
    state.requests.push(`${req.method} ${url.pathname}`)
    const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)
    if (m && req.method === 'GET') state.blobGets.set(m[1], (state.blobGets.get(m[1]) ?? 0) + 1)
    try {
      if (state.fault && (await state.fault(req, res, url))) return
      await forward(req, res)
    } catch (e) {
      if (!res.headersSent) res.writeHead(502).end(String(e))
      else res.destroy()
    }
  })
  const forward = async (req, res, rewrite) => {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await collect(req)
    const headers = {...req.headers}
    for (const h of ['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']) delete headers[h]
    const up = await fetch(`http://${upstream}${req.url}`, {method: req.method, headers, body, redirect: 'manual'})
    const h = {}
    up.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'content-encoding') h[k] = v
    })
    let data = Buffer.from(await up.arrayBuffer())
    if (rewrite) data = rewrite(data, h)
    res.writeHead(up.status, {...h, ...(req.method === 'HEAD' ? {'content-length': up.headers.get('content-length') ?? '0'} : {'content-length': data.length})})
    res.end(req.method === 'HEAD' ? undefined : data)
  }
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const host = `127.0.0.1:${server.address().port}`
  server.keepAliveTimeout = 100
  return {host, state, forward, stop: () => {
    server.closeAllConnections()
    server.close()
  }}
}
const collect = async (req) => {
  const parts = []
  for await (const c of req) parts.push(c)
  return Buffer.concat(parts)
}

/** Puts an image into the registry by the API itself (what skopeo won't write: hostile tars, odd media types). */
async function putImage(host, repo, tag, layers, {configOverride, docker = false, platform = {architecture: 'amd64', os: 'linux'}, layerMediaType = docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', extra = {}} = {}) {
  const put = async (data) => {
    const d = sha(data)
    const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, {method: 'POST'})
    assert.equal(start.status, 202)
    const loc = new URL(start.headers.get('location'), `http://${host}`)
    loc.searchParams.set('digest', d)
    const r = await fetch(loc, {method: 'PUT', body: data, headers: {'content-type': 'application/octet-stream'}})
    assert.equal(r.status, 201, await r.text())
    return {digest: d, size: data.length}
  }
  const descs = []
  const diffIds = []
  for (const tar of layers) {
    const blob = layerMediaType.endsWith('gzip') ? gzipSync(tar) : tar
    descs.push({mediaType: layerMediaType, ...(await put(blob)), ...extra})
    diffIds.push(sha(tar))
  }
  const config = Buffer.from(JSON.stringify(configOverride ?? {...platform, rootfs: {type: 'layers', diff_ids: diffIds}}))
  const c = await put(config)
  const mt = docker ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json'
  const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: mt, config: {mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', ...c}, layers: descs}))
  await putManifest(host, repo, tag, manifest, mt)
  return {digest: sha(manifest), size: manifest.length, mediaType: mt, manifest: JSON.parse(manifest), layers: descs}
}

async function putManifest(host, repo, tag, body, mediaType) {
  const r = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {method: 'PUT', body, headers: {'content-type': mediaType}})
  assert.equal(r.status, 201, await r.text())
}

let reg, fixture, want
before(async () => {
  reg = await startRegistry()
  fixture = tmp('strata-regfix-')
  inNs(['bash', join(root, 'test', 'fixtures', 'make-image.sh'), fixture])
  run('umoci', ['unpack', '--rootless', '--image', `${join(fixture, 'img')}:v3`, join(fixture, 'unpacked')])
  want = umociView(join(fixture, 'unpacked', 'rootfs'))
  // the same image three ways: gzip (as umoci wrote it), zstd, uncompressed
  const src = `oci:${join(fixture, 'img')}:v3`
  run('skopeo', ['copy', '--dest-tls-verify=false', src, `docker://${reg.host}/fix/gzip:v3`])
  run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', '--dest-compress', src, `docker://${reg.host}/fix/zstd:v3`])
  run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-decompress', src, `docker://${reg.host}/fix/plain:v3`])
})
after(() => reg?.stop())

async function mergedView(home, stack) {
  const merged = await sa(home, ['run', stack, '--', process.execPath, scan, '.'])
  assert.equal(merged.status, 0, merged.stderr)
  return parse(merged.stdoutBuf)
}

test('pull: gzip, zstd and plain images merge exactly as umoci unpacks them; a second pull fetches no blob', async (t) => {
  const {home} = scratch(t, 'strata-pull-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  let ids
  for (const kind of ['gzip', 'zstd', 'plain']) {
    const r = await sa(home, ['pull', `docker://${proxy.host}/fix/${kind}:v3`, insecure, '--stack', kind, '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.json.reference, `${proxy.host}/fix/${kind}:v3`)
    assert.equal(r.json.layers.length, 3)
    assert.ok(r.json.layers[0].layer.names.includes(`${proxy.host}/fix/${kind}:v3`), 'the top layer is named by the reference')
    assert.equal(r.json.layers[0].layer.source.kind, 'registry')
    assert.deepEqual(r.json.stack.layers, r.json.layers.map((l) => l.layer.id))
    // the same content however compressed: the same layers
    if (ids) assert.deepEqual(r.json.layers.map((l) => l.layer.id), ids)
    else {
      ids = r.json.layers.map((l) => l.layer.id)
      assert.equal(r.json.downloaded.blobs, 3)
    }
    assert.ok(compare(await mergedView(home, kind), want, kind) >= 18)
  }
  assert.equal((await sa(home, ['check'])).status, 0)

  // again: no blob is fetched, the manifest and config only
  proxy.state.blobGets.clear()
  const again = await sa(home, ['pull', `${proxy.host}/fix/gzip:v3`, insecure, '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(again.json.downloaded.blobs, 0)
  assert.ok(again.json.layers.every((l) => !l.downloaded && l.existing))
  const layerGets = [...proxy.state.blobGets.keys()].filter((d) => again.json.layers.some((l) => l.blob === d))
  assert.deepEqual(layerGets, [], 'no layer blob was fetched again')

  // by digest, and the same image
  const byDigest = await sa(home, ['pull', `${proxy.host}/fix/gzip@${again.json.manifest}`, insecure, '--json'])
  assert.equal(byDigest.status, 0, byDigest.stderr)
  assert.equal(byDigest.json.manifest, again.json.manifest)
  assert.deepEqual(byDigest.json.layers.map((l) => l.layer.id), ids)

  // the human output says what happened, one line per layer
  const human = await sa(home, ['pull', `${proxy.host}/fix/gzip:v3`, insecure])
  assert.equal(human.status, 0, human.stderr)
  assert.match(human.stdout, /^pulled 127\.0\.0\.1:\d+\/fix\/gzip:v3 \(sha256:[0-9a-f]{12}, linux\/amd64\): 3 layers, 0 blobs fetched/)
  assert.equal(human.stderr, '', 'no progress on a pipe')
})

test('pull into a format-1 store upgrades it first: the store says the current format, check is clean, old and new layers read', async (t) => {
  const home = newHome()
  t.after(() => cleanHome(home))
  mkdirSync(home, {recursive: true})
  inNs(['tar', '--xattrs', '--xattrs-include=user.*', '-xpzf', join(root, 'test', 'fixtures', 'format1-store.tar.gz'), '-C', home])
  const formatOf = (h) => JSON.parse(readFileSync(join(h, 'store.json'), 'utf8')).format
  assert.equal(formatOf(home), undefined, 'the fixture is of format 1')
  // what a store made today says
  const fresh = newHome()
  t.after(() => cleanHome(fresh))
  const tree = join(tmp('strata-pull-fmt-'), 't')
  mkdirSync(tree)
  writeFileSync(join(tree, 'f'), 'x'.repeat(100))
  assert.equal((await sa(fresh, ['import', tree, '--name', 't'])).status, 0)
  const r = await sa(home, ['pull', `${reg.host}/fix/gzip:v3`, insecure, '--stack', 'pulled', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(formatOf(home), formatOf(fresh), 'upgraded before the pull wrote')
  assert.equal((await sa(home, ['check'])).status, 0)
  assert.ok(compare(await mergedView(home, 'pulled'), want, 'pulled') >= 18)
  for (const l of (await sa(home, ['layer', 'list', '--json'])).json.layers) assert.equal((await sa(home, ['layer', 'export', l.id, '-o', join(tmp('strata-pull-fmt-'), 'x.tar')])).status, 0, l.id)
})

test('push: skopeo and umoci read what strata pushed; a second push uploads nothing; another repository mounts', async (t) => {
  const {home, work} = scratch(t, 'strata-push-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  const p = await sa(home, ['pull', `${reg.host}/fix/gzip:v3`, insecure, '--stack', 'img', '--json'])
  assert.equal(p.status, 0, p.stderr)
  const ids = p.json.layers.map((l) => l.layer.id)

  for (const compression of ['gzip', 'zstd']) {
    const dest = `${proxy.host}/pushed/${compression}:v1`
    const r = await sa(home, ['push', 'img', dest, insecure, '--compression', compression, '--json'])
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(r.json.layers.map((l) => l.id), ids)
    assert.ok(r.json.layers.every((l) => l.action === 'uploaded'), JSON.stringify(r.json.layers))
    const inspect = JSON.parse((await runAsync('skopeo', ['inspect', '--tls-verify=false', `docker://${dest}`])).stdout)
    assert.equal(inspect.Digest, r.json.manifest)
    assert.deepEqual(inspect.Layers, r.json.layers.map((l) => l.digest).reverse())
    const layout = join(work, `copy-${compression}`)
    await runAsync('skopeo', ['copy', '--src-tls-verify=false', `docker://${dest}`, `oci:${layout}:v1`])
    if (compression === 'gzip') {
      run('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, join(work, 'unpacked')])
      assert.ok(compare(umociView(join(work, 'unpacked', 'rootfs')), want, 'umoci unpack of the push') >= 18)
    }
    // pushed, then pulled into a fresh store: the same layers
    const home2 = newHome()
    t.after(() => cleanHome(home2))
    const back = await sa(home2, ['pull', dest, insecure, '--json'])
    assert.equal(back.status, 0, back.stderr)
    assert.deepEqual(back.json.layers.map((l) => l.layer.id), ids)
  }

  // again: every blob exists, nothing is uploaded, the same manifest (reproducible blobs)
  proxy.state.requests.length = 0
  const first = await sa(home, ['push', 'img', `${proxy.host}/pushed/gzip:v1`, insecure, '--json'])
  assert.equal(first.status, 0, first.stderr)
  assert.ok(first.json.layers.every((l) => l.action === 'exists'))
  assert.equal(first.json.uploaded.blobs, 0)
  assert.ok(!proxy.state.requests.some((r) => /^(PUT|PATCH) .*\/blobs\//.test(r)), proxy.state.requests.join('\n'))
  // the layers' blobs are known: pulling the pushed image into this store fetches none
  proxy.state.blobGets.clear()
  const pulled = await sa(home, ['pull', `${proxy.host}/pushed/gzip:v1`, insecure, '--json'])
  assert.equal(pulled.status, 0, pulled.stderr)
  assert.equal(pulled.json.downloaded.blobs, 0)

  // another repository on the same registry: mounted, not uploaded
  proxy.state.requests.length = 0
  const other = await sa(home, ['push', 'img', `${proxy.host}/elsewhere/img:v1`, insecure, '--json'])
  assert.equal(other.status, 0, other.stderr)
  assert.ok(other.json.layers.every((l) => l.action === 'mounted'), JSON.stringify(other.json.layers))
  assert.ok(proxy.state.requests.some((r) => r.startsWith('POST /v2/elsewhere/img/blobs/uploads/')))
  assert.ok(!proxy.state.requests.some((r) => /^PUT .*\/blobs\/uploads\//.test(r)), 'no blob uploaded')

  // a single layer pushes as a one-layer image
  const one = await sa(home, ['push', ids[2], `${reg.host}/pushed/base:v1`, insecure, '--json'])
  assert.equal(one.status, 0, one.stderr)
  assert.equal(one.json.source.kind, 'layer')
  assert.equal(one.json.layers.length, 1)

  // uncommitted changes: refused, with the hint to commit
  assert.equal((await sa(home, ['run', 'img', '--', process.execPath, '-e', "require('fs').writeFileSync('etc/added', 'new')"])).status, 0)
  const dirty = await sa(home, ['push', 'img', `${reg.host}/pushed/dirty:v1`, insecure])
  assert.equal(dirty.status, 4, dirty.stderr)
  assert.match(dirty.stderr, /uncommitted change.*strata commit img/)
  const nosuch = await sa(home, ['push', 'nosuch', `${reg.host}/pushed/x:v1`, insecure])
  assert.equal(nosuch.status, 3, nosuch.stderr)
})

test('auth: htpasswd (Basic) — required, refused, --creds, and the auth files podman and skopeo write', async (t) => {
  const {home, work} = scratch(t, 'strata-auth-')
  const secure = await startRegistry([['alice', 's3cret-pass']])
  t.after(secure.stop)
  run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:s3cret-pass', `oci:${join(fixture, 'img')}:v1`, `docker://${secure.host}/priv/img:v1`])
  const ref = `${secure.host}/priv/img:v1`
  const env = {XDG_RUNTIME_DIR: join(work, 'run'), HOME: work, XDG_CONFIG_HOME: join(work, 'config'), REGISTRY_AUTH_FILE: ''}

  const none = await sa(home, ['pull', ref, insecure], {env})
  assert.equal(none.status, 5, none.stderr)
  assert.match(none.stderr, /requires authentication.*podman login 127\.0\.0\.1/)
  const wrong = await sa(home, ['pull', ref, insecure, '--creds', 'alice:nope'], {env})
  assert.equal(wrong.status, 5, wrong.stderr)
  assert.match(wrong.stderr, /refused the credentials of 'alice' \(from --creds\)/)
  const good = await sa(home, ['pull', ref, insecure, '--creds', 'alice:s3cret-pass', '--json'], {env})
  assert.equal(good.status, 0, good.stderr)
  assert.equal(good.json.layers.length, 1)
  assert.equal(listing(home).some((l) => l.includes('alice')), false)

  // skopeo login writes $XDG_RUNTIME_DIR/containers/auth.json: strata reads it
  mkdirSync(join(work, 'run'), {recursive: true, mode: 0o700})
  run('skopeo', ['login', '--tls-verify=false', '-u', 'alice', '-p', 's3cret-pass', secure.host], {env: {...process.env, ...env}})
  const viaLogin = await sa(home, ['push', ids(good)[0], `${secure.host}/priv/pushed:v1`, insecure, '--json'], {env})
  assert.equal(viaLogin.status, 0, viaLogin.stderr)
  // --authfile, and the docker config as the last resort
  const authfile = join(work, 'other-auth.json')
  writeFileSync(authfile, JSON.stringify({auths: {[secure.host]: {auth: Buffer.from('alice:s3cret-pass').toString('base64')}}}))
  const viaFile = await sa(home, ['pull', ref, insecure, '--authfile', authfile, '--json'], {env: {...env, XDG_RUNTIME_DIR: join(work, 'nothing')}})
  assert.equal(viaFile.status, 0, viaFile.stderr)
  mkdirSync(join(work, '.docker'))
  writeFileSync(join(work, '.docker', 'config.json'), JSON.stringify({auths: {[`https://${secure.host}`]: {auth: Buffer.from('alice:s3cret-pass').toString('base64')}}}))
  const viaDocker = await sa(home, ['pull', ref, insecure, '--json'], {env: {...env, XDG_RUNTIME_DIR: join(work, 'nothing')}})
  assert.equal(viaDocker.status, 0, viaDocker.stderr)
  const missing = await sa(home, ['pull', ref, insecure, '--authfile', join(work, 'nosuch.json')], {env})
  assert.equal(missing.status, 2, missing.stderr)
})
const ids = (r) => r.json.layers.map((l) => l.layer.id)

test('auth: credential helpers — credHelpers per registry, credsStore by default, run as docker runs them; missing or failing ones are one clear line', async (t) => {
  const {home, work} = scratch(t, 'strata-helper-')
  const secure = await startRegistry([['carol', 'h3lper-pass']])
  t.after(secure.stop)
  run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'carol:h3lper-pass', `oci:${join(fixture, 'img')}:v1`, `docker://${secure.host}/priv/img:v1`])
  const ref = `${secure.host}/priv/img:v1`
  // a real helper on PATH: logs what it was asked (argv, stdin), answers for the secure registry only
  const bin = join(work, 'bin')
  mkdirSync(bin)
  const log = join(work, 'helper.log')
  const helper = (name, body) => writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\nserver=$(cat)\necho "${name} $* $server" >> ${log}\n${body}\n`, {mode: 0o755})
  helper('strata-test', `if [ "$1" = get ] && [ "$server" = "${secure.host}" ]; then echo '{"ServerURL":"${secure.host}","Username":"carol","Secret":"h3lper-pass"}'; exit 0; fi\necho "credentials not found in native keychain"; exit 1`)
  helper('broken', 'echo "secret service unavailable: no D-Bus session" >&2; exit 3')
  helper('garbled', 'echo "not json"')
  const env = {PATH: `${bin}:${process.env.PATH}`, XDG_RUNTIME_DIR: join(work, 'run'), HOME: work, XDG_CONFIG_HOME: join(work, 'config'), REGISTRY_AUTH_FILE: ''}
  mkdirSync(join(work, 'run', 'containers'), {recursive: true})
  mkdirSync(join(work, '.docker'))
  const runAuth = join(work, 'run', 'containers', 'auth.json')
  const dockerConfig = join(work, '.docker', 'config.json')
  const helperLog = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [])

  // credHelpers for this registry (podman's auth.json)
  writeFileSync(runAuth, JSON.stringify({auths: {}, credHelpers: {[secure.host]: 'strata-test', 'other.example': 'broken'}}))
  const viaHelper = await sa(home, ['pull', ref, insecure, '--json'], {env})
  assert.equal(viaHelper.status, 0, viaHelper.stderr)
  assert.equal(viaHelper.json.layers.length, 1)
  assert.deepEqual(helperLog(), [`strata-test get ${secure.host}`], 'run once, as `get`, with the server on stdin; the other registry\'s helper not at all')
  // push through the same helper
  const pushed = await sa(home, ['push', ids(viaHelper)[0], `${secure.host}/priv/pushed:v1`, insecure, '--json'], {env})
  assert.equal(pushed.status, 0, pushed.stderr)

  // credsStore: the default for every registry, here in docker's config (podman's auth.json has nothing)
  rmSync(runAuth)
  writeFileSync(dockerConfig, JSON.stringify({auths: {[secure.host]: {}}, credsStore: 'strata-test'}))
  const home2 = newHome()
  t.after(() => cleanHome(home2))
  const viaStore = await sa(home2, ['pull', ref, insecure, '--json'], {env})
  assert.equal(viaStore.status, 0, viaStore.stderr)
  // a helper is a program: an anonymous registry runs none
  rmSync(log)
  const anon = await sa(home2, ['pull', `${reg.host}/fix/gzip:v3`, insecure, '--json'], {env})
  assert.equal(anon.status, 0, anon.stderr)
  assert.deepEqual(helperLog(), [])
  // a helper that knows nothing of the registry passes on to what follows: the file's auths entry
  helper('empty', 'echo "credentials not found in native keychain"; exit 1')
  writeFileSync(dockerConfig, JSON.stringify({credHelpers: {[secure.host]: 'empty'}, auths: {[secure.host]: {auth: Buffer.from('carol:h3lper-pass').toString('base64')}}}))
  const passed = await sa(home2, ['pull', ref, insecure, '--json'], {env})
  assert.equal(passed.status, 0, passed.stderr)
  assert.deepEqual(helperLog(), [`empty get ${secure.host}`])

  const cases = [
    {name: 'missing helper', file: {credHelpers: {[secure.host]: 'nosuch'}}, says: /the credential helper docker-credential-nosuch that .*config\.json \(credHelpers\) names for 127\.0\.0\.1:\d+ is not on PATH — install docker-credential-nosuch on PATH, or remove 'nosuch' from .*config\.json/},
    {name: 'failing helper', file: {credsStore: 'broken'}, says: /docker-credential-broken \(.*config\.json \(credsStore\)\) failed for 127\.0\.0\.1:\d+: secret service unavailable: no D-Bus session — check it with `echo 127\.0\.0\.1:\d+ \| docker-credential-broken get`/},
    {name: 'helper answering no JSON', file: {credsStore: 'garbled'}, says: /docker-credential-garbled .* answered no JSON for 127\.0\.0\.1:\d+: not json/},
  ]
  for (const c of cases) {
    writeFileSync(dockerConfig, JSON.stringify(c.file))
    const was = listing(home2)
    const r = await sa(home2, ['pull', `${secure.host}/priv/img:v1`, insecure], {env})
    assert.equal(r.status, 5, `${c.name}: ${r.stderr}`)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `${c.name}: one line: ${r.stderr}`)
    assert.match(lines[0], c.says, c.name)
    assert.deepEqual(listing(home2), was, `${c.name}: nothing published`)
  }
  // a helper name that could be a path is refused as a malformed auth file
  writeFileSync(dockerConfig, JSON.stringify({credsStore: '../../bin/sh'}))
  const bad = await sa(home2, ['pull', `${secure.host}/priv/img:v1`, insecure], {env})
  assert.equal(bad.status, 2, bad.stderr)
  assert.match(bad.stderr, /names the credential helper '\.\.\/\.\.\/bin\/sh', which is no helper's name/)
})

test('auth: Bearer tokens from the challenge\'s realm, one per scope', async (t) => {
  const {home} = scratch(t, 'strata-bearer-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  const issued = []
  const realm = `http://${proxy.host}/token`
  proxy.state.fault = async (req, res, url) => {
    if (url.pathname === '/token') {
      const auth = req.headers.authorization
      if (auth !== 'Basic ' + Buffer.from('bob:pw').toString('base64')) {
        res.writeHead(401).end()
        return true
      }
      const token = `tok-${issued.length}`
      issued.push({token, scope: url.searchParams.getAll('scope').join(' '), service: url.searchParams.get('service')})
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({token}))
      return true
    }
    const got = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    const scopeOf = (p) => {
      const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(p)
      return m ? `repository:${m[1]}:pull` : ''
    }
    const ok = issued.find((i) => i.token === got && (url.pathname === '/v2/' || i.scope.includes(scopeOf(url.pathname))))
    if (!ok) {
      res.writeHead(401, {'www-authenticate': `Bearer realm="${realm}",service="test-registry",scope="${scopeOf(url.pathname)}"`, 'content-type': 'application/json'})
      res.end(JSON.stringify({errors: [{code: 'UNAUTHORIZED', message: 'authentication required'}]}))
      return true
    }
    return false
  }
  const r = await sa(home, ['pull', `${proxy.host}/fix/gzip:v3`, insecure, '--creds', 'bob:pw', '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.ok(issued.length >= 1)
  assert.ok(issued.every((i) => i.service === 'test-registry'))
  assert.ok(issued.some((i) => i.scope === 'repository:fix/gzip:pull'), JSON.stringify(issued))
  // tokens are per scope and reused: one for the repository, however many requests
  assert.equal(issued.filter((i) => i.scope === 'repository:fix/gzip:pull').length, 1, JSON.stringify(issued))
  const refused = await sa(home, ['pull', `${proxy.host}/fix/zstd:v3`, insecure, '--creds', 'bob:wrong'])
  assert.equal(refused.status, 5, refused.stderr)
  assert.match(refused.stderr, /refused the credentials of 'bob'/)
})

test('bad input: a clear error, the documented exit code, nothing published', async (t) => {
  const {home} = scratch(t, 'strata-regbad-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  const base = await sa(home, ['pull', `${reg.host}/fix/gzip:v3`, insecure, '--json'])
  assert.equal(base.status, 0, base.stderr)
  // a fresh store per case would hide what a failure leaves: one store, compared before and after
  const before = () => listing(home).filter((l) => !l.startsWith('cache/') && !l.startsWith('lock'))

  const hostile = await putImage(reg.host, 'bad/hostile', 'v1', [tarOf([{name: 'ok', data: 'x'.repeat(100)}, {name: '../escape', data: 'evil'.repeat(30)}])])
  await putImage(reg.host, 'bad/mediatype', 'v1', [tarOf([{name: 'a', data: 'a'}])], {layerMediaType: 'application/vnd.example.layer.v1+squashfs'})
  await putImage(reg.host, 'bad/foreign', 'v1', [tarOf([{name: 'a', data: 'a'}])], {layerMediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', extra: {urls: ['https://example.invalid/layer']}})
  await putImage(reg.host, 'bad/diffid', 'v1', [tarOf([{name: 'a', data: 'a'.repeat(100)}])], {configOverride: {architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: [sha(Buffer.from('other'))]}}})
  const good = await putImage(reg.host, 'bad/good', 'v1', [tarOf([{name: 'big', data: 'g'.repeat(300000)}]), tarOf([{name: 'small', data: 's'.repeat(1000)}])])
  const gzipBlob = good.layers[0].digest

  const cases = [
    {name: 'no such tag', ref: `${reg.host}/fix/gzip:nosuch`, exit: 3, says: /fix\/gzip:nosuch: not found.*MANIFEST_UNKNOWN/},
    {name: 'no such repository', ref: `${reg.host}/nosuch/repo:v1`, exit: 3, says: /not found/},
    {name: 'short name', ref: 'debian:12', exit: 2, says: /names no registry.*docker\.io\/library\/debian:12/},
    {name: 'hostile tar', ref: `${reg.host}/bad/hostile:v1`, exit: 2, says: /refusing entry '\.\.\/escape': '\.\.' would leave/},
    {name: 'unknown media type', ref: `${reg.host}/bad/mediatype:v1`, exit: 2, says: /unknown media type 'application\/vnd\.example\.layer\.v1\+squashfs'/},
    {name: 'foreign layer', ref: `${reg.host}/bad/foreign:v1`, exit: 2, says: /foreign \(non-distributable\) layer/},
    {name: 'diff id', ref: `${reg.host}/bad/diffid:v1`, exit: 6, says: /does not match the config's diff id/},
    {name: 'unreachable registry', ref: `127.0.0.1:${await freePort()}/x/y:v1`, exit: 5, says: /cannot reach the registry 127\.0\.0\.1:\d+.*connection refused/, env: {STRATA_REGISTRY_RETRIES: '1'}},
    {
      name: 'manifest altered (by tag)', ref: `${proxy.host}/fix/gzip:v3`, exit: 6, says: /manifest of .* does not match its digest/,
      fault: async (req, res, url) => url.pathname.includes('/manifests/') && req.method === 'GET' && (await proxy.forward(req, res, (d) => Buffer.from(d.toString().replace('"schemaVersion":2', '"schemaVersion": 2'))), true),
    },
    {
      name: 'manifest altered (by digest)', ref: `${proxy.host}/fix/gzip@${base.json.manifest}`, exit: 6, says: /does not match its digest/,
      fault: async (req, res, url) => url.pathname.includes('/manifests/') && req.method === 'GET' && (await proxy.forward(req, res, (d, h) => {
        delete h['docker-content-digest']
        return Buffer.concat([d, Buffer.from(' ')])
      }), true),
    },
    {
      name: 'schema 1', ref: `${proxy.host}/fix/gzip:v3`, exit: 2, says: /Docker schema 1 manifest/,
      fault: async (req, res, url) => {
        if (!url.pathname.includes('/manifests/')) return false
        res.writeHead(200, {'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws'}).end(JSON.stringify({schemaVersion: 1, name: 'fix/gzip', tag: 'v3', fsLayers: [], history: []}))
        return true
      },
    },
    {
      name: 'truncated blob', ref: `${proxy.host}/bad/good:v1`, exit: 6, says: /truncated: the registry sent \d+ of \d+ bytes/, env: {STRATA_REGISTRY_RETRIES: '1'},
      fault: async (req, res, url) => url.pathname.endsWith(gzipBlob) && (await proxy.forward(req, res, (d) => d.subarray(0, d.length >> 1)), true),
    },
    {
      name: 'blob altered', ref: `${proxy.host}/bad/good:v1`, exit: 6, says: /does not match its digest|corrupt compressed stream/,
      fault: async (req, res, url) => url.pathname.endsWith(gzipBlob) && req.method === 'GET' && (await proxy.forward(req, res, () => gzipSync(tarOf([{name: 'big', data: 'G'.repeat(300000)}]))), true),
    },
    {
      name: 'a registry that never answers', ref: `${proxy.host}/bad/good:v1`, exit: 5, says: /no answer \(timed out\)/, env: {STRATA_REGISTRY_TIMEOUT: '1', STRATA_REGISTRY_RETRIES: '1'},
      fault: async (req, res, url) => url.pathname.includes('/manifests/'), // and never a word
    },
  ]
  for (const c of cases) {
    const was = before()
    proxy.state.fault = c.fault ?? null
    const r = await sa(home, ['pull', c.ref, insecure], {env: c.env})
    assert.equal(r.status, c.exit, `${c.name}: ${r.status} ${r.stderr}`)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, `${c.name}: one line: ${r.stderr}`)
    assert.match(lines[0], c.says, c.name)
    assert.match(lines[0], / — /, `${c.name}: names the fix`)
    assert.deepEqual(before(), was, `${c.name}: nothing published, nothing left`)
    const j = await sa(home, ['pull', c.ref, insecure, '--json'], {env: c.env})
    assert.equal(j.status, c.exit)
    assert.equal(j.json.error.exit, c.exit)
  }
  proxy.state.fault = null
  assert.equal((await sa(home, ['check'])).status, 0)
  assert.ok(hostile)
})

test('flaky registries: 500s and 429 then success, dropped connections resumed by range, redirects to blob storage', async (t) => {
  const {home} = scratch(t, 'strata-flaky-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  const good = await putImage(reg.host, 'flaky/img', 'v1', [tarOf([{name: 'big', data: Buffer.alloc(3 << 20, 7)}, {name: 'other', data: 'o'.repeat(5000)}]), tarOf([{name: 'small', data: 's'.repeat(1000)}])])
  const big = good.layers[0].digest
  let failures = 0
  const ranges = []
  // a blob store elsewhere (another origin): blob GETs are redirected there
  const store = await startProxy(reg.host)
  t.after(store.stop)
  store.state.fault = async (req, res, url) => {
    if (req.headers.authorization) {
      res.writeHead(400).end('the blob store must not see the registry\'s credentials')
      return true
    }
    return false
  }
  proxy.state.fault = async (req, res, url) => {
    if (url.pathname.includes('/manifests/') && failures < 2) {
      failures++
      res.writeHead(failures === 1 ? 500 : 429, {'retry-after': '0'}).end('busy')
      return true
    }
    if (url.pathname.endsWith(big) && req.method === 'GET') {
      if (req.headers.range) ranges.push(req.headers.range)
      if (!req.headers.range) {
        // half of it, then the connection drops
        const up = await fetch(`http://${reg.host}${req.url}`)
        const data = Buffer.from(await up.arrayBuffer())
        res.writeHead(200, {'content-length': data.length, 'content-type': 'application/octet-stream'})
        res.write(data.subarray(0, data.length >> 1), () => res.socket.destroy())
        return true
      }
      res.writeHead(307, {location: `http://${store.host}${req.url}`}).end()
      return true
    }
    return false
  }
  const r = await sa(home, ['pull', `${proxy.host}/flaky/img:v1`, insecure, '--json'], {env: {STRATA_REGISTRY_RETRIES: '3'}})
  assert.equal(r.status, 0, r.stderr)
  assert.equal(failures, 2)
  assert.equal(ranges.length, 1, 'the dropped blob was resumed once, by range')
  assert.match(ranges[0], /^bytes=\d+-$/)
  assert.ok(Number(/\d+/.exec(ranges[0])[0]) > 0)
  assert.equal(r.json.layers.length, 2)
  assert.equal((await sa(home, ['check'])).status, 0)
})

test('a pull killed half-way: the next one fetches only what had not landed', async (t) => {
  const {home} = scratch(t, 'strata-killed-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  const img = await putImage(reg.host, 'kill/img', 'v1', [1, 2, 3].map((n) => tarOf([{name: `f${n}`, data: Buffer.alloc(200000, n)}])))
  const held = img.layers[2].digest
  let release
  const heldUp = new Promise((r) => (release = r))
  let sawHeld
  const seen = new Promise((r) => (sawHeld = r))
  proxy.state.fault = async (req, res, url) => {
    if (!url.pathname.endsWith(held) || req.method !== 'GET') return false
    sawHeld()
    await heldUp // never answers while the pull is alive
    res.destroy()
    return true
  }
  const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'pull', `${proxy.host}/kill/img:v1`, insecure], {env: {...process.env, STRATA_HOME: home}, stdio: 'ignore', detached: true})
  await seen
  // wait until the two other layers are in the store (published by rename, recorded)
  for (let i = 0; ; i++) {
    const l = await sa(home, ['layer', 'list', '--json'])
    if (l.status === 0 && l.json.layers.length === 2) break
    assert.ok(i < 600, 'the two other layers never landed')
    await new Promise((r) => setTimeout(r, 50))
  }
  process.kill(-child.pid, 'SIGKILL')
  await new Promise((r) => child.on('exit', r))
  release()
  proxy.state.fault = null
  assert.equal((await sa(home, ['check'])).status, 0, 'a killed pull leaves a valid store')
  proxy.state.blobGets.clear()
  const r = await sa(home, ['pull', `${proxy.host}/kill/img:v1`, insecure, '--json'])
  assert.equal(r.status, 0, r.stderr)
  const fetched = img.layers.map((l) => l.digest).filter((d) => proxy.state.blobGets.get(d))
  assert.deepEqual(fetched, [held], 'only the layer that had not landed')
  assert.equal(r.json.downloaded.blobs, 1)
})

test('a pull killed half-way through a big layer: the next pull resumes that blob where it stopped (Range), checked whole', async (t) => {
  const {home} = scratch(t, 'strata-resume-')
  const proxy = await startProxy(reg.host)
  t.after(proxy.stop)
  // 12 MiB that gzip can't shrink, in three files, and a small layer beside it
  const files = [1, 2, 3].map((n) => ({name: `big${n}`, data: randomBytes(4 << 20)}))
  const img = await putImage(reg.host, 'resume/img', 'v1', [tarOf(files), tarOf([{name: 'small', data: 's'.repeat(1000)}])])
  const big = img.layers[0]
  const half = big.size >> 1
  const partialFile = join(home, 'tmp', `blob-${big.digest.slice(7)}`)
  const data = Buffer.from(await (await fetch(`http://${reg.host}/v2/resume/img/blobs/${big.digest}`)).arrayBuffer())
  assert.equal(data.length, big.size)

  let first = true
  let release
  const heldUp = new Promise((r) => (release = r))
  const ranges = []
  let served = 0
  proxy.state.fault = async (req, res, url) => {
    if (!url.pathname.endsWith(big.digest) || req.method !== 'GET') return false
    if (first) {
      // half of the blob, then nothing: the pull is killed while it waits
      first = false
      res.writeHead(200, {'content-length': data.length, 'content-type': 'application/octet-stream'})
      res.write(data.subarray(0, half))
      await heldUp
      res.destroy()
      return true
    }
    ranges.push(req.headers.range ?? null)
    const start = req.headers.range ? Number(/^bytes=(\d+)-$/.exec(req.headers.range)[1]) : 0
    const body = data.subarray(start)
    served += body.length
    res.writeHead(start ? 206 : 200, {'content-length': body.length, 'content-type': 'application/octet-stream', ...(start ? {'content-range': `bytes ${start}-${data.length - 1}/${data.length}`} : {})})
    res.end(body)
    return true
  }
  const child = spawn(process.execPath, [bin, 'pull', `${proxy.host}/resume/img:v1`, insecure], {env: {...process.env, STRATA_HOME: home}, stdio: 'ignore', detached: true})
  // the half that was sent lands in staging; then the pull is killed for real
  for (let i = 0; ; i++) {
    if ((statSync(partialFile, {throwIfNoEntry: false})?.size ?? 0) >= half) break
    assert.ok(i < 1200, 'the first half never landed')
    await new Promise((r) => setTimeout(r, 50))
  }
  process.kill(-child.pid, 'SIGKILL')
  await new Promise((r) => child.on('exit', r))
  release()
  assert.equal(statSync(partialFile).size, half)

  // a leftover to check and gc, not damage
  const checked = await sa(home, ['check', '--json'])
  assert.equal(checked.status, 0, checked.stderr)
  assert.deepEqual(checked.json.leftovers.filter((p) => p.includes('blob-')), [partialFile])
  const gcDry = await sa(home, ['gc', '--dry-run', '--json'])
  assert.equal(gcDry.status, 0, gcDry.stderr)
  assert.ok(gcDry.json.leftovers.removed >= 1)

  const r = await sa(home, ['pull', `${proxy.host}/resume/img:v1`, insecure, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(ranges, [`bytes=${half}-`], 'one request, from where the killed pull stopped')
  assert.equal(served, big.size - half, 'only the second half was fetched')
  const layer = r.json.layers.find((l) => l.blob === big.digest)
  assert.equal(layer.resumedFrom, half)
  const small = r.json.layers.find((l) => l.blob === img.layers[1].digest)
  assert.equal(r.json.downloaded.bytes, big.size - half + (small.downloaded ? small.size : 0))
  assert.equal(statSync(partialFile, {throwIfNoEntry: false}), undefined, 'the kept bytes go once the layer is published')
  // the same layer as a pull that was never interrupted (its id is its content)
  const home2 = newHome()
  t.after(() => cleanHome(home2))
  const clean = await sa(home2, ['pull', `${reg.host}/resume/img:v1`, insecure, '--json'])
  assert.equal(clean.status, 0, clean.stderr)
  assert.deepEqual(r.json.layers.map((l) => l.layer.id), clean.json.layers.map((l) => l.layer.id))
  assert.equal((await sa(home, ['check'])).status, 0)

  // what landed but fails the digest (here: altered on disk) is not trusted: exit 6, and it is dropped
  const home3 = newHome()
  t.after(() => cleanHome(home3))
  mkdirSync(join(home3, 'tmp'), {recursive: true})
  const altered = Buffer.from(data.subarray(0, half))
  altered[100] ^= 0xff
  writeFileSync(join(home3, 'tmp', `blob-${big.digest.slice(7)}`), altered)
  ranges.length = 0
  const bad = await sa(home3, ['pull', `${proxy.host}/resume/img:v1`, insecure])
  assert.notEqual(bad.status, 0)
  assert.match(bad.stderr, /^strata: .*(does not match its digest|corrupt compressed stream|bad header checksum).* \(resumed from 6\.0 MiB an interrupted pull kept; those are dropped now\) — pull again: the blob is fetched whole\n$/)
  assert.ok(ranges.length <= 1, 'at most the rest was asked for')
  assert.equal(existsSync(join(home3, 'tmp', `blob-${big.digest.slice(7)}`)), false, 'the bad bytes are dropped')
  const again = await sa(home3, ['pull', `${proxy.host}/resume/img:v1`, insecure, '--json'])
  assert.equal(again.status, 0, again.stderr)
  assert.equal(ranges.at(-1), null, 'fetched whole')
})

test('indexes and manifest lists: this machine\'s platform by default, --platform another, Docker schema 2; references as podman writes them', async (t) => {
  const {home} = scratch(t, 'strata-index-')
  const arm = await putImage(reg.host, 'multi/oci', 'arm64', [tarOf([{name: 'arch', data: 'arm64\n'.repeat(20)}])], {platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}})
  const amd = await putImage(reg.host, 'multi/oci', 'amd64', [tarOf([{name: 'arch', data: 'amd64\n'.repeat(20)}])])
  const entry = (m, platform) => ({mediaType: m.mediaType, digest: m.digest, size: m.size, platform})
  // this machine's platform second, so that taking the first entry would be caught
  await putManifest(reg.host, 'multi/oci', 'v1', Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry(arm, {architecture: 'arm64', os: 'linux', variant: 'v8'}), entry(amd, {architecture: 'amd64', os: 'linux'})]})), 'application/vnd.oci.image.index.v1+json')
  const host = process.arch === 'x64' ? amd : arm

  const r = await sa(home, ['pull', `${reg.host}/multi/oci:v1`, insecure, '--json'])
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.json.manifest, host.digest)
  assert.equal(r.json.platform, process.arch === 'x64' ? 'linux/amd64' : 'linux/arm64/v8')
  const other = await sa(home, ['pull', `${reg.host}/multi/oci:v1`, insecure, '--platform', 'linux/arm64', '--json'])
  assert.equal(other.status, 0, other.stderr)
  assert.equal(other.json.manifest, arm.digest)
  assert.equal(other.json.platform, 'linux/arm64/v8')
  assert.notEqual(other.json.layers[0].layer.id, process.arch === 'x64' ? r.json.layers[0].layer.id : '')
  const none = await sa(home, ['pull', `${reg.host}/multi/oci:v1`, insecure, '--platform', 'linux/s390x'])
  assert.equal(none.status, 3, none.stderr)
  assert.match(none.stderr, /has no image for linux\/s390x \(it has: linux\/arm64\/v8, linux\/amd64\) — choose one with --platform/)

  // Docker schema 2: a manifest list of image manifests, their layers in Docker's media type
  const darm = await putImage(reg.host, 'multi/docker', 'arm64', [tarOf([{name: 'arch', data: 'arm64 docker\n'.repeat(20)}])], {docker: true, platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}})
  const damd = await putImage(reg.host, 'multi/docker', 'amd64', [tarOf([{name: 'arch', data: 'amd64 docker\n'.repeat(20)}])], {docker: true})
  await putManifest(reg.host, 'multi/docker', 'v1', Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [entry(darm, {architecture: 'arm64', os: 'linux', variant: 'v8'}), entry(damd, {architecture: 'amd64', os: 'linux'})]})), 'application/vnd.docker.distribution.manifest.list.v2+json')
  const d = await sa(home, ['pull', `docker://${reg.host}/multi/docker:v1`, insecure, '--stack', 'dock', '--json'])
  assert.equal(d.status, 0, d.stderr)
  assert.equal(d.json.manifest, (process.arch === 'x64' ? damd : darm).digest)
  const cat = await sa(home, ['run', 'dock', '--', 'head', '-n1', 'arch'])
  assert.equal(cat.stdout, process.arch === 'x64' ? 'amd64 docker\n' : 'arm64 docker\n')
  // a Docker image manifest by itself, by digest
  const byDigest = await sa(home, ['pull', `${reg.host}/multi/docker@${damd.digest}`, insecure, '--json'])
  assert.equal(byDigest.status, 0, byDigest.stderr)
  assert.equal(byDigest.json.manifest, damd.digest)
  assert.equal((await sa(home, ['check'])).status, 0)

  // references: docker.io/x is docker.io/library/x, docker:// and index.docker.io are the same registry, a short name is refused
  const {parseReference, formatReference} = await import(join(root, 'dist', 'src', 'registry', 'reference.js'))
  const ref = (s) => formatReference(parseReference(s))
  assert.equal(ref('docker.io/debian'), 'docker.io/library/debian:latest')
  assert.equal(ref('docker://index.docker.io/debian:12'), 'docker.io/library/debian:12')
  assert.equal(ref('docker.io/me/tool@sha256:' + 'a'.repeat(64)), 'docker.io/me/tool@sha256:' + 'a'.repeat(64))
  assert.equal(ref('localhost:5000/a/b/c:v1'), 'localhost:5000/a/b/c:v1')
  assert.equal(ref('quay.io/x/y:t@sha256:' + 'b'.repeat(64)), 'quay.io/x/y:t@sha256:' + 'b'.repeat(64))
  assert.throws(() => parseReference('debian:12'), /names no registry/)
  assert.throws(() => parseReference('me/tool'), /names no registry/)
  assert.throws(() => parseReference('oci:/some/dir'), /only registry references/)
  assert.throws(() => parseReference('docker.io/Upper/x'), /not a repository name component/)
})
