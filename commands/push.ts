import {Args, Flags} from '@oclif/core'
import {StrataCommand} from '../src/cli/command.js'
import {bytes} from '../src/progress.js'
import {count} from '../src/cli/words.js'
import {parseReference} from '../src/registry/reference.js'
import {parseCreds} from '../src/registry/auth.js'
import type {ResultOf} from '../src/services/ops.js'
import {remoteFlags} from './pull.js'

export default class Push extends StrataCommand {
  static summary = "Push a stack's layers (or one layer) to a registry as an image"
  static description =
    "One image layer per strata layer, bottom first, each the tar `layer export` writes, compressed with fixed settings (the same layer always gives the same blob), with an OCI config (rootfs.diff_ids, history) and manifest, tagged REF's tag (default latest). Blobs the registry has are skipped (HEAD), blobs of another repository on the same registry are mounted, not uploaded. A stack with uncommitted changes in its upper is refused: commit them first. Credentials as for pull."
  static examples = [
    '<%= config.bin %> push dev quay.io/me/dev:v1',
    '<%= config.bin %> push dev localhost:5000/dev:v1 --tls-verify=false --compression zstd',
  ]
  static args = {
    source: Args.string({description: 'the stack (or a layer) to push', required: true, ignoreStdin: true}),
    ref: Args.string({description: 'where: REGISTRY/REPOSITORY[:TAG]', required: true, ignoreStdin: true}),
  }
  static flags = {
    compression: Flags.string({description: 'how layer blobs are compressed', options: ['gzip', 'zstd'], default: 'gzip'}),
    ...remoteFlags,
  }

  async run(): Promise<ResultOf<'push'>> {
    const {args, flags} = await this.parse(Push)
    const ref = parseReference(args.ref)
    if (ref.digest) throw (await import('../src/errors.js')).usage(`push names a tag, not a digest: '${args.ref}'`, 'write REGISTRY/REPOSITORY[:TAG]; the digest is what the push makes')
    const r = await this.inNamespace('push', {
      source: args.source,
      ref,
      compression: flags.compression as 'gzip' | 'zstd',
      tlsVerify: flags['tls-verify'] !== 'false',
      authfile: flags.authfile,
      creds: flags.creds !== undefined ? parseCreds(flags.creds) : undefined,
    })
    this.out(`pushed ${r.source.kind} ${r.source.name} to ${r.reference} (${r.manifest.slice(0, 19)}…): ${count(r.layers.length, 'layer')}, ${count(r.uploaded.blobs, 'blob')} uploaded (${bytes(r.uploaded.bytes)})`)
    for (const l of r.layers) this.out(`  ${l.action} ${l.id.slice(0, 12)} as ${l.digest.slice(0, 19)} (${bytes(l.size)})`)
    return r
  }
}
