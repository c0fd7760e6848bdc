import { keccak256, toUtf8Bytes } from 'ethers';
import { ServiceError } from './errors';
import type { RecordMeta, Repo } from './ports';

/**
 * Co-signing (docs/formats.md "Co-signing"): a `cosignature` record names exactly one record, of any organisation
 * that the co-signer may read — its own, or one whose organisation granted it access — or that the co-signing
 * policy of the record's type (MemberDirectory `cosignPolicyOf`) names the co-signer's organisation for.
 */

/** The directory's co-signing policy of a record type: keccak256(bytes(orgId)) of each named organisation. */
export type CosignPolicyOf = (recordType: string) => Promise<string[]>;

export const orgHash = (orgId: string): string => keccak256(toUtf8Bytes(orgId)).toLowerCase();

/** Whether `orgId` may name `parent` (a record of another organisation) as the parent of its `cosignature`. */
export async function mayCosign(
  repo: Repo,
  orgId: string,
  parent: RecordMeta,
  policyOf: CosignPolicyOf | undefined,
): Promise<boolean> {
  if (parent.orgId === orgId) return true;
  if ((await repo.grantsOf(orgId)).includes(parent.orgId)) return true;
  if (!policyOf) return false;
  let policy: string[];
  try {
    policy = await policyOf(parent.type);
  } catch (err) {
    throw new ServiceError(
      'CHAIN_UNAVAILABLE',
      `the co-signing policy of ${parent.type} could not be read from the directory: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const me = orgHash(orgId);
  return policy.some((o) => o.toLowerCase() === me);
}
