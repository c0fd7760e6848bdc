import { Init1764000000000 } from './1764000000000-Init';
import { Pilots1764100000000 } from './1764100000000-Pilots';
import { PartialIndexes1764200000000 } from './1764200000000-PartialIndexes';
import { OrgRules1764300000000 } from './1764300000000-OrgRules';
import { OrgTaxIds1764400000000 } from './1764400000000-OrgTaxIds';
import { ClaimInvoices1764500000000 } from './1764500000000-ClaimInvoices';
import { BatchTrees1764600000000 } from './1764600000000-BatchTrees';
import { ClaimSettle1764700000000 } from './1764700000000-ClaimSettle';
import { RecordSignatures1764800000000 } from './1764800000000-RecordSignatures';
import { ForeignKeys1764900000000 } from './1764900000000-ForeignKeys';
import { RecordStatusFromBatch1765000000000 } from './1765000000000-RecordStatusFromBatch';
import { BinaryHashes1765100000000 } from './1765100000000-BinaryHashes';

/** Every migration, in order. Passed as classes (not a glob) so ts-node, tsc output and tests all resolve them. */
export const MIGRATIONS = [
  Init1764000000000,
  Pilots1764100000000,
  PartialIndexes1764200000000,
  OrgRules1764300000000,
  OrgTaxIds1764400000000,
  ClaimInvoices1764500000000,
  BatchTrees1764600000000,
  ClaimSettle1764700000000,
  RecordSignatures1764800000000,
  ForeignKeys1764900000000,
  RecordStatusFromBatch1765000000000,
  BinaryHashes1765100000000,
];
