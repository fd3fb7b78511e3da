// A layer's digest index (layers/<id>/digests): the full fs-verity digest of
// every object its stubs name, with the alias each stub's redirect uses.
// Format 2's stubs carry only the alias (docs/design.md, On-disk layout);
// this is where check, gc, export and composefs find the full digests.
// Text, one object a line, sorted: "<64 hex digest> <alias length>", the
// alias length being the hex digits after objects/ab/ (62: the full name;
// 0: the stubs carry the digest themselves).

const HEADER = 'strata-digests-v1'

export class DigestIndex {
  private byName?: Map<string, string>

  /** digest → the alias length its stubs redirect by */
  constructor(readonly aliases: Map<string, number> = new Map()) {}

  add(digest: string, alias: number) {
    this.aliases.set(digest, alias)
    this.byName = undefined
  }

  /** The digest a redirect's object name (ab + the rest, an alias's or a full one) stands for, if this index knows it. */
  resolve(name: string): string | undefined {
    if (name.length === 64 && this.aliases.has(name)) return name
    if (!this.byName) {
      this.byName = new Map()
      for (const [d, n] of this.aliases) if (n > 0) this.byName.set(d.slice(0, 2 + n), d)
    }
    return this.byName.get(name)
  }

  encode(): Buffer {
    const lines = [...this.aliases].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([d, n]) => `${d} ${n}\n`)
    return Buffer.from(HEADER + '\n' + lines.join(''))
  }

  static decode(text: string): DigestIndex {
    const lines = text.split('\n')
    if (lines[0] !== HEADER) throw new Error(`not a digest index (it starts ${JSON.stringify(lines[0].slice(0, 40))})`)
    const m = new Map<string, number>()
    for (const l of lines.slice(1)) {
      if (!l) continue
      const r = /^([0-9a-f]{64}) ([0-9]{1,2})$/.exec(l)
      if (!r || Number(r[2]) > 62) throw new Error(`a digest index line is damaged: ${JSON.stringify(l.slice(0, 80))}`)
      m.set(r[1], Number(r[2]))
    }
    return new DigestIndex(m)
  }
}
