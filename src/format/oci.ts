// OCI image-spec names strata reads and writes: media types, the tag annotation, descriptors.
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
