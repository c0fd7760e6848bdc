import { Init1764000000000 } from './1764000000000-Init';

/** Every migration, in order. Passed as classes (not a glob) so ts-node, tsc output and tests all resolve them. */
export const MIGRATIONS = [Init1764000000000];
