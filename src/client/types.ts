/**
 * The API's request and response types, derived from its typebox schemas (src/api/schemas.ts, the route
 * modules) and the service types the handlers return. Type-only imports: the client has no runtime dependency
 * on fastify, typebox or the service.
 */
import type { Static } from 'typebox';
import type * as S from '../api/schemas';
import type { ReceiptsBody as ReceiptsBodySchema } from '../api/routes/records';
import type { AppContext } from '../api/context';
import type { ClaimInput as ServiceClaimInput, ClaimResult as ServiceClaimResult } from '../service/claims';
import type { Completeness as ServiceCompleteness, Trace as ServiceTrace } from '../service/trace';
import type { LineageBundle } from '../verifier/bundle';
import type { Verdict as VerifierVerdict } from '../verifier/verifier';

/** RFC 9457 problem details with the service's stable `code` (and extensions such as `recordStatus`). */
export type Problem = Static<typeof S.Problem> & { [extension: string]: unknown };

/** One record for POST /v1/records or /v1/records/batch. */
export type RecordInput = Static<typeof S.RecordInput>;
export type SubmitResult = Static<typeof S.SubmitResult>;
/** One item of a batch answer, in request order. */
export type BatchItem = SubmitResult | { error: Problem };
export interface BatchSubmitResult {
  records: BatchItem[];
  accepted: number;
  rejected: number;
}

/** Why a pending record cannot be anchored (GET /v1/records/:id `blocked`), e.g. INSUFFICIENT_FUNDS. */
export type Blocked = Static<typeof S.AnchorBlocked>;

export type RecordView = Static<typeof S.RecordView>;
/** DESIGN §2.4 receipt, version 1. */
export type Receipt = Static<typeof S.Receipt>;
export type Verdict = Static<typeof S.Verdict>;
export type BatchView = Static<typeof S.BatchView>;
export type OrgView = Static<typeof S.OrgView>;
export type ApiKeyView = Static<typeof S.ApiKeyView>;
export type Scope = Static<typeof S.Scope>;
export type RecordStatus = Static<typeof S.RecordStatus>;

export type ReceiptsBody = Static<typeof ReceiptsBodySchema>;
/** One item of POST /v1/receipts: `{id, receipt}` or `{id, error}` (RECEIPT_NOT_READY, RECORD_NOT_FOUND). */
export type ReceiptItem = { id: string; receipt: Receipt } | { id: string; error: Problem };
export interface ReceiptsResult {
  receipts: ReceiptItem[];
  ready: number;
  notReady: number;
  notFound: number;
}

export type Info = AppContext['info'];
export interface Health {
  status: 'ok';
}
export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: {
    database: { ok: boolean; detail?: string };
    chain: { ok: boolean; detail?: string; blockNumber?: number };
    anchoring: { ok: boolean; detail?: string };
  };
}

export type Trace = ServiceTrace;
export type TraceBundle = LineageBundle;
export type Completeness = ServiceCompleteness;
export type ClaimInput = ServiceClaimInput;
export type ClaimResult = ServiceClaimResult;
export interface ClaimView {
  id: string;
  orgId: string;
  externalId: string;
  commitment: string;
  invoices: string[];
  invoiceKeys: string[];
  status: string;
  consumeTx: { txHash: string; status: string; blockNumber: number | null } | null;
  releaseTx: { txHash: string; status: string; blockNumber: number | null } | null;
  error: string | null;
}

export interface CreateOrgInput {
  id: string;
  name: string;
  kind?: 'member' | 'auditor' | 'operator';
  /** Arithmetic business rules: refuse (default) or warn. */
  rules?: 'refuse' | 'warn';
}
export interface CreatedKey {
  /** The secret: shown once. */
  key: string;
  info: ApiKeyView;
}

/** What the offline verifier answers (src/verifier). */
export type OfflineVerdict = VerifierVerdict;
