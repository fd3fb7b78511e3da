// Counted nouns for human output: "1 layer", "2 layers".

/** n and the noun, singular for exactly one. */
export const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

/** The first few of a list, and how many more there are. */
export function firstFew(items: string[], total = items.length, few = 5): string {
  const shown = items.slice(0, few)
  return shown.join(', ') + (total > shown.length ? `, … (${total - shown.length} more)` : '')
}
