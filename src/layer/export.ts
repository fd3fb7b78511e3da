export async function exportLayer(..._a: unknown[]): Promise<never> { throw new Error('not yet') }
export async function exportStackOci(..._a: unknown[]): Promise<never> { throw new Error('not yet') }
