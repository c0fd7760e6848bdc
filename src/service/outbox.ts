import { randomUUID } from 'node:crypto';
import type { OutboxTx, Repo } from './ports';

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

/** A freshly signed transaction as its outbox row, stored before it is broadcast. */
export function newOutboxTx(
  orgId: string,
  address: string,
  kind: OutboxTx['kind'],
  refId: string,
  signed: { raw: string; hash: string; nonce: number },
  now = Date.now(),
  id: string = randomUUID(),
): OutboxTx {
  return {
    id,
    orgId,
    address,
    nonce: signed.nonce,
    kind,
    refId,
    raw: signed.raw,
    txHash: signed.hash,
    status: 'signed',
    blockNumber: null,
    blockHash: null,
    error: null,
    createdAt: now,
    updatedAt: now,
  };
}
