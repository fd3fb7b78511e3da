import {Args, Flags} from '@oclif/core'
import {StrataCommand, mapFlag} from '../src/cli/command.js'
import {bytes} from '../src/progress.js'
import {count} from '../src/cli/words.js'
import {skippedWarnings} from '../src/cli/render-layer.js'
import {createdStack} from '../src/cli/render-stack.js'
import {FORMATS, type Format, checkForcedFormat, detectFormat, importSource} from '../src/import/archive.js'
import {splitLayoutRef} from '../src/format/oci.js'
import type {ArchiveImportResult} from '../src/import/source.js'
import {type LayerInfo, checkLayerName} from '../src/layer/layers.js'
import {checkStackName} from '../src/stack/stacks.js'

export default class Import extends StrataCommand {
  static summary = 'Import a directory, tar, tar.gz, tar.zst, OCI image layout or image archive'
  static description =
    'The format is told from the content (--format forces it). File data goes once into the object store, the tree itself as stubs; a tar is read once, never unpacked. An OCI layout or image archive (oci-archive, docker-archive: what `podman save`, `docker save` and skopeo write) gives one layer per image layer (DIR:TAG or DIR@DIGEST picks an image; FILE:NAME:TAG one of the RepoTags of a docker-archive). Importing the same content again gives the same layer id and stores nothing new.'
  static examples = [
    '<%= config.bin %> import ./rootfs --name base',
    '<%= config.bin %> import rootfs.tar.zst --name base',
    '<%= config.bin %> import ./alpine-oci:3.20 --stack alpine',
    '<%= config.bin %> import alpine.tar:docker.io/library/alpine:3.20 --stack alpine',
    '<%= config.bin %> import --move ./build-output --name out',
  ]
  static args = {source: Args.string({description: 'directory, tar file, OCI layout (DIR[:TAG|@DIGEST]) or image archive (FILE[:TAG])', required: true, ignoreStdin: true})}
  static flags = {
    name: Flags.string({char: 'n', description: 'name the layer (an image: its top layer); a name moves from any layer that had it'}),
    stack: Flags.string({description: 'also create a stack of the imported layers'}),
    backend: Flags.string({description: 'with --stack: how to mount it (kernel, kernel-flat, fuse, or auto)', options: ['auto', 'kernel', 'kernel-flat', 'fuse'], dependsOn: ['stack']}),
    format: Flags.string({description: 'force the source format', options: FORMATS}),
    move: Flags.boolean({description: 'move a directory\'s file data into the store by rename (zero-copy on the same filesystem); the directory is consumed'}),
    map: mapFlag,
    'inline-limit': Flags.integer({description: 'files up to this many bytes are stored inline, not as objects', default: 64, min: 0}),
    stubs: Flags.string({
      description: "the layer's stub form: short (an alias redirect that stays in the inode; the default) or digest (each stub carries its object's fs-verity digest, for kernels mounting with verity=; an xattr block per stub on ext4). A layer keeps the form it was first imported with",
      options: ['short', 'digest'],
    }),
  }

  async run(): Promise<ArchiveImportResult> {
    const {args, flags} = await this.parse(Import)
    // before anything is read: an empty --name "$VAR" must not pass for no name at all
    if (flags.name !== undefined) checkLayerName(flags.name)
    if (flags.stack !== undefined) checkStackName(flags.stack)
    const {dir, ref} = splitLayoutRef(args.source) // a ref on what is no image: the import says so
    const source = importSource(dir)
    if (flags.format) checkForcedFormat(source, flags.format as Format)
    const format = (flags.format as Format | undefined) ?? (await detectFormat(source))
    const r = await this.inNamespace('import-archive', {
      source,
      format,
      ref,
      name: flags.name,
      stack: flags.stack,
      backend: flags.stack !== undefined ? await this.backend(flags.backend) : undefined,
      move: flags.move,
      inlineLimit: flags['inline-limit'],
      stubs: flags.stubs as 'short' | 'digest' | undefined,
    }, {map: flags.map as 'auto' | 'single' | undefined})
    const layers = 'image' in r ? r.layers : [r]
    if ('image' in r) this.out(`image ${r.image.tag ?? r.image.manifest} from ${r.image.layout}: ${count(r.layers.length, 'layer')}`)
    for (const x of layers) this.report(x.layer, x.existing)
    if (!('image' in r) && r.nameMovedFrom) this.warn(`name '${flags.name}' moved from layer ${r.nameMovedFrom.slice(0, 12)}`)
    if (format === 'dir' && !flags.move && this.home.relationTo(source) === 'holds') this.warn(`left out the store (${this.home.root}), which is inside ${source}`)
    if (r.stack) this.out(createdStack(r.stack))
    return r
  }

  private report(l: LayerInfo, existing: boolean) {
    this.out(`${existing ? 'already imported' : 'imported'} ${l.id.slice(0, 12)}${l.names.length ? ` (${l.names.join(', ')})` : ''}: ${count(l.counts.entries, 'entry', 'entries')}, ${bytes(l.bytes.content)}`)
    if (!existing) this.out(`  ${count(l.bytes.objectsAdded, 'new object')}, ${bytes(l.bytes.objectBytesAdded)} stored`)
    for (const w of skippedWarnings(l)) this.warn(w)
  }
}
