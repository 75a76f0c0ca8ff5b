export function exercise(mpool: typeof import('mpool'), tasks: Record<string, unknown>): Promise<void>;
