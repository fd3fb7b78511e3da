// Image references as podman and skopeo write them: [docker://]REGISTRY/REPO[:TAG][@DIGEST].
// The first component names a registry when it has a '.' or a ':' or is
// 'localhost'; a short name (no registry) is refused rather than resolved
// through a search list, so that a pull never goes where the user didn't say.
import {usage} from '../errors.js'

export interface Reference {
  /** as written in names and messages: docker.io, quay.io, 127.0.0.1:5000 */
  registry: string
  /** docker.io/x is docker.io/library/x */
  repository: string
  tag: string | null
  digest: string | null
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/

export function parseReference(input: string, opts: {defaultTag?: boolean} = {defaultTag: true}): Reference {
  const bad = (why: string, hint = 'write it as REGISTRY/REPOSITORY[:TAG|@DIGEST], e.g. docker.io/library/debian:12') =>
    usage(`invalid image reference '${input}': ${why}`, hint)
  let s = input.startsWith('docker://') ? input.slice('docker://'.length) : input
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(s) || /^(oci|oci-archive|docker-archive|dir|containers-storage):/.test(s))
    throw bad('only registry references (docker://) are pulled', 'import a local image with `strata import`')
  let digest: string | null = null
  const at = s.indexOf('@')
  if (at >= 0) {
    digest = s.slice(at + 1)
    s = s.slice(0, at)
    if (!DIGEST.test(digest)) throw bad(`'${digest}' is not a digest (sha256:<64 hex digits>)`)
  }
  let tag: string | null = null
  const slash = s.lastIndexOf('/')
  const colon = s.lastIndexOf(':')
  if (colon > slash) {
    tag = s.slice(colon + 1)
    s = s.slice(0, colon)
    if (!TAG.test(tag)) throw bad(`'${tag}' is not a tag (letters, digits, _ . -, up to 128)`)
  }
  const first = s.indexOf('/')
  const head = first < 0 ? '' : s.slice(0, first)
  if (first < 0 || !(head.includes('.') || head.includes(':') || head === 'localhost'))
    throw usage(
      `'${input}' names no registry (a short name)`,
      `write the registry too, e.g. docker.io/${s.includes('/') ? s : 'library/' + s}${tag ? ':' + tag : ''} (strata doesn't guess one)`,
    )
  if (!HOST.test(head)) throw bad(`'${head}' is not a registry host[:port]`)
  let registry = head.toLowerCase() === 'index.docker.io' || head.toLowerCase() === 'registry-1.docker.io' ? 'docker.io' : head
  let repository = s.slice(first + 1)
  if (registry === 'docker.io' && !repository.includes('/')) repository = 'library/' + repository
  for (const c of repository.split('/'))
    if (!COMPONENT.test(c)) throw bad(`'${c}' is not a repository name component (lowercase letters, digits, separators . _ __ -)`)
  if (registry.length + repository.length + 1 > 255) throw bad('the name is over 255 characters')
  if (!tag && !digest && opts.defaultTag !== false) tag = 'latest'
  return {registry, repository, tag, digest}
}

/** The reference written out in full: registry/repository[:tag][@digest]. */
export function formatReference(r: Reference): string {
  return `${r.registry}/${r.repository}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`
}

/** The host the API is served on: Docker Hub's differs from its name. */
export const apiHost = (registry: string) => (registry === 'docker.io' ? 'registry-1.docker.io' : registry)
