/**
 * `ledger-notary/client`: a typed TypeScript client of the Ledger Notary API.
 *
 *   import { NotaryClient } from 'ledger-notary/client';
 *   const notary = new NotaryClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: process.env.NOTARY_API_KEY });
 *   const { records } = await notary.submitMany(invoices, { onProgress: (p) => console.log(p.done, p.total) });
 *   const { receipts } = await notary.waitForReceipts(records.flatMap((r) => ('id' in r ? [r.id] : [])));
 */
export { NotaryClient, MAX_BATCH, MAX_RECEIPT_IDS } from './client';
export type {
  NotaryClientOptions,
  RequestOptions,
  SubmitManyOptions,
  SubmitManyProgress,
  SubmitManyResult,
  VerifyOptions,
  WaitOptions,
  WaitProgress,
  WaitResult,
} from './client';
export { NotaryApiError } from './errors';
export type * from './types';
export type { SignedRecordInput } from './client';
export {
  availableSigningBackends,
  digestSignerFromKey,
  initSigning,
  newRecordIdV7,
  newRecordSalt,
  signRecord,
  signRecordWith,
  signRecords,
  recordSigningDomain,
  RECORD_COMMITMENT_TYPES,
} from './signing';
export type {
  DigestSigner,
  RecordToSign,
  SignedRecordFields,
  SigningBackend,
  SigningContext,
  RecordSignature,
} from './signing';
