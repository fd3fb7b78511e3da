import {Args, Flags} from '@oclif/core'
import {StrataCommand, mapFlag} from '../src/cli/command.js'
import {bytes} from '../src/progress.js'
import {count} from '../src/cli/words.js'
import {createdStack} from '../src/cli/render-stack.js'
import {formatReference, parseReference} from '../src/registry/reference.js'
import {parsePlatform} from '../src/registry/manifest.js'
import {parseCreds} from '../src/registry/auth.js'
import {checkLayerName} from '../src/layer/layers.js'
import {checkStackName} from '../src/stack/stacks.js'
import type {ResultOf} from '../src/services/ops.js'

export const remoteFlags = {
  'tls-verify': Flags.string({description: 'require HTTPS and verify certificates (false: also speak plain HTTP)', options: ['true', 'false'], default: 'true'}),
  authfile: Flags.string({description: 'the auth file to read credentials from (default: podman\'s: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json, ~/.docker/config.json)'}),
  creds: Flags.string({description: 'USERNAME:PASSWORD for the registry'}),
}

export default class Pull extends StrataCommand {
  static summary = 'Pull an image from a registry into layers'
  static description =
    "REF as podman and skopeo write it: REGISTRY/REPOSITORY[:TAG|@DIGEST], docker:// optional; docker.io/x is docker.io/library/x; a short name without a registry is refused. One layer per image layer (as `import` of an OCI layout), the top one named by the reference (or --name). Each blob streams from the registry into the store, decompressed and imported as it arrives, its digest checked; a blob the store already made a layer of is not fetched again. Credentials come from the files `podman login` writes (and the credential helpers they name). A big layer cut short (the pull killed, the network gone) is resumed by the next pull where it stopped. For a multi-platform image, this machine's platform (--platform picks another)."
  static examples = [
    '<%= config.bin %> pull docker.io/library/debian:12 --stack deb',
    '<%= config.bin %> pull quay.io/fedora/fedora:40 --platform linux/arm64',
    '<%= config.bin %> pull localhost:5000/tools:v1 --tls-verify=false',
  ]
  static args = {ref: Args.string({description: 'the image: REGISTRY/REPOSITORY[:TAG|@DIGEST]', required: true, ignoreStdin: true})}
  static flags = {
    name: Flags.string({char: 'n', description: 'name the top layer (default: the reference); a name moves from any layer that had it'}),
    stack: Flags.string({description: 'also create a stack of the pulled layers'}),
    backend: Flags.string({description: 'with --stack: how to mount it (kernel, kernel-flat, fuse, or auto)', options: ['auto', 'kernel', 'kernel-flat', 'fuse'], dependsOn: ['stack']}),
    platform: Flags.string({description: 'OS/ARCH[/VARIANT] to pick from a multi-platform image (default: this machine\'s)'}),
    ...remoteFlags,
    'inline-limit': Flags.integer({description: 'files up to this many bytes are stored inline, not as objects', default: 64, min: 0}),
    map: mapFlag,
  }

  async run(): Promise<ResultOf<'pull'>> {
    const {args, flags} = await this.parse(Pull)
    const ref = parseReference(args.ref)
    const name = flags.name ?? formatReference(ref)
    checkLayerName(name)
    if (flags.stack !== undefined) checkStackName(flags.stack)
    const r = await this.inNamespace('pull', {
      ref,
      name,
      platform: flags.platform ? parsePlatform(flags.platform) : undefined,
      stack: flags.stack,
      backend: flags.stack !== undefined ? await this.backend(flags.backend) : undefined,
      tlsVerify: flags['tls-verify'] !== 'false',
      authfile: flags.authfile,
      creds: flags.creds !== undefined ? parseCreds(flags.creds) : undefined,
      inlineLimit: flags['inline-limit'],
    }, {map: flags.map})
    this.out(`pulled ${r.reference} (${r.manifest.slice(0, 19)}, ${r.platform}): ${count(r.layers.length, 'layer')}, ${count(r.downloaded.blobs, 'blob')} fetched (${bytes(r.downloaded.bytes)})`)
    for (const l of r.layers)
      this.out(`  ${l.downloaded ? (l.existing ? 'fetched, same as' : 'fetched') : 'had'}${l.resumedFrom ? ` (resumed after ${bytes(l.resumedFrom)})` : ''} ${l.layer.id.slice(0, 12)}${l.layer.names.length ? ` (${l.layer.names.join(', ')})` : ''}: ${count(l.layer.counts.entries, 'entry', 'entries')}, ${bytes(l.layer.bytes.content)}`)
    if (r.layers[0]?.nameMovedFrom) this.warn(`name '${name}' moved from layer ${r.layers[0].nameMovedFrom.slice(0, 12)}`)
    if (r.stack) this.out(createdStack(r.stack))
    return r
  }
}
