import { Init1764000000000 } from './1764000000000-Init';
import { Pilots1764100000000 } from './1764100000000-Pilots';

/** Every migration, in order. Passed as classes (not a glob) so ts-node, tsc output and tests all resolve them. */
export const MIGRATIONS = [Init1764000000000, Pilots1764100000000];
