export async function importMove(..._a: unknown[]): Promise<never> { throw new Error('not yet') }
export async function stamp(..._a: unknown[]): Promise<never> { throw new Error('not yet') }
