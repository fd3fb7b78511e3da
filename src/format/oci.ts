// OCI image-spec names strata reads and writes: media types, the tag annotation, descriptors.
import {existsSync} from 'node:fs'
export const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
}
export const REF_NAME = 'org.opencontainers.image.ref.name'

export interface Descriptor {mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: {os?: string; architecture?: string}}

/**
 * An image layout named on the command line: "DIR", "DIR:TAG" or
 * "DIR@DIGEST" (an image archive: "FILE:NAME:TAG"). A path that exists is
 * the layout as a whole; else the longest existing prefix before an '@' or a
 * colon is, and the rest names the image. A layout still to be written
 * (create) may not exist yet: then it splits at the first colon followed by
 * a tag, and its tag is the rest.
 */
export function splitLayoutRef(arg: string, o: {create?: boolean} = {}): {dir: string; ref?: string} {
  if (existsSync(arg)) return {dir: arg}
  const at = arg.lastIndexOf('@')
  if (!o.create && at > 0 && existsSync(arg.slice(0, at))) return {dir: arg.slice(0, at), ref: arg.slice(at + 1)}
  // the longest existing prefix before a colon: FILE:NAME:TAG names a docker-archive's RepoTag
  for (let colon = arg.lastIndexOf(':'); colon > 0; colon = arg.lastIndexOf(':', colon - 1))
    if (existsSync(arg.slice(0, colon))) return {dir: arg.slice(0, colon), ref: arg.slice(colon + 1)}
  if (o.create) {
    const m = /^(.+?):([A-Za-z0-9._@+-][A-Za-z0-9._:@+/-]*)$/.exec(arg)
    if (m) return {dir: m[1], ref: m[2]}
  }
  return {dir: arg}
}
