import type { Repo } from './ports';

/**
 * Allocates an account's next nonce in the database, inside the caller's transaction. The anchoring
 * worker and the claims use case send from the same organisation account, so every nonce comes from
 * here: the account row is locked first (PostgreSQL), and with nothing of ours in flight the chain's
 * pending nonce is the truth (it may have moved on, e.g. deployments or role grants).
 */
export async function allocateAccountNonce(
  r: Repo,
  orgId: string,
  address: string,
  chainNonce: number,
): Promise<number> {
  await r.ensureAccount(address, orgId, chainNonce);
  await r.lockAccount(address);
  const stored = await r.getAccountNonce(address);
  const open = await r.openOutbox(address);
  if (!open.length && stored !== chainNonce) await r.setAccountNonce(address, chainNonce);
  return r.allocateNonce(address);
}
