import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { canonicalize, digestCanonical } from '../domain/canonicalize';
import { DomainError } from '../domain/errors';
import { isRecordType, validatePayload, type RecordType } from '../domain/record-types';
import { ServiceError, type ErrorCode } from './errors';

/** One record as a client submits it (DESIGN §5). */
export interface RecordInput {
  type: string;
  externalId?: string;
  payload: unknown;
  /** Parent record ids. */
  parents?: string[];
  /** Id of an earlier record of the same org that this one corrects. */
  supersedes?: string;
}

/** A validated, canonicalized and hashed record input: plain data, so it can cross a thread boundary. */
export interface Prepared {
  input: Omit<RecordInput, 'payload'>;
  type: RecordType;
  canonical: string;
  digest: string;
  parents: string[];
}

/** A refused item as plain data (a ServiceError crossing a thread boundary). */
export interface PrepareFailure {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Types that only dedicated use cases may create (they have on-chain side effects). */
const RESERVED_TYPES = new Set(['expense.claim']);

/** Validation, canonicalization and hashing: pure CPU work done before the transaction opens. */
export function prepareRecord(input: RecordInput, allowReserved: boolean): Prepared | ServiceError {
  if (!isRecordType(input.type)) {
    return new ServiceError('UNKNOWN_RECORD_TYPE', `Unknown record type "${String(input.type)}"`);
  }
  if (RESERVED_TYPES.has(input.type) && !allowReserved) {
    return new ServiceError(
      'CLAIMS_ENDPOINT_REQUIRED',
      'expense.claim records are created by POST /v1/claims, which consumes the invoices on chain',
    );
  }
  const v = validatePayload(input.type, input.payload);
  if (!v.ok) {
    return new ServiceError('PAYLOAD_INVALID', `Invalid ${input.type} payload`, { errors: v.errors.slice(0, 20) });
  }
  let canonical: string;
  try {
    canonical = canonicalize(input.payload);
  } catch (err) {
    if (err instanceof DomainError) return new ServiceError('PAYLOAD_NOT_CANONICALIZABLE', err.message);
    throw err;
  }
  const { type, externalId, parents, supersedes } = input;
  return {
    input: { type, externalId, parents, supersedes },
    type: input.type,
    canonical,
    digest: digestCanonical(canonical),
    parents: [...new Set(parents ?? [])],
  };
}

/** The record input schema (also the API's per-item schema of a batch). */
export const RecordInputSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 40, description: 'record type, e.g. invoice.issued' }),
    externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the submitter’s own id' })),
    payload: Type.Unknown({ description: 'the business document (JSON); amounts as decimal strings' }),
    parents: Type.Optional(
      Type.Array(Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }), {
        maxItems: 64,
        uniqueItems: true,
        description: 'parent record ids',
      }),
    ),
    supersedes: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' }),
    ),
  },
  { additionalProperties: false },
);

export const MAX_BATCH = 10_000;
let itemCheck: ReturnType<typeof Compile> | undefined;

/**
 * The whole batch-submit body, from its raw JSON text to prepared items: parse (refusing prototype
 * keys, as fastify's parser does), check the envelope, check and prepare each item on its own.
 * Pure CPU work: the API runs it on a worker thread for large batches (src/service/prepare-pool.ts).
 */
export function prepareBatchBody(raw: string): { items: (Prepared | PrepareFailure)[] } | { error: PrepareFailure } {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { error: { code: 'MALFORMED_JSON', message: 'Body is not valid JSON' } };
  }
  if (/"(?:__proto__|constructor)"\s*:/.test(raw) && hasForbiddenKey(body)) {
    return { error: { code: 'MALFORMED_JSON', message: 'Body contains a forbidden prototype property' } };
  }
  const records = (body as { records?: unknown } | null)?.records;
  if (
    typeof body !== 'object' ||
    body === null ||
    Array.isArray(body) ||
    Object.keys(body).some((k) => k !== 'records')
  ) {
    return {
      error: {
        code: 'VALIDATION_FAILED',
        message: 'Invalid request body',
        details: { errors: [{ path: '', message: 'must be an object with only "records"' }] },
      },
    };
  }
  if (!Array.isArray(records) || records.length < 1 || records.length > MAX_BATCH) {
    return {
      error: {
        code: 'VALIDATION_FAILED',
        message: 'Invalid request body',
        details: { errors: [{ path: '/records', message: `must be an array of 1 to ${MAX_BATCH} records` }] },
      },
    };
  }
  itemCheck ??= Compile(RecordInputSchema);
  const check = itemCheck;
  return {
    items: records.map((item: unknown): Prepared | PrepareFailure => {
      if (!check.Check(item)) {
        const errors = check
          .Errors(item)
          .slice(0, 10)
          .map((e) => ({ path: e.instancePath, message: e.message }));
        return { code: 'VALIDATION_FAILED', message: 'Record input does not match the schema', details: { errors } };
      }
      const p = prepareRecord(item as RecordInput, false);
      return p instanceof ServiceError ? { code: p.code, message: p.message, details: p.details } : p;
    }),
  };
}

function hasForbiddenKey(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  for (const k of Object.keys(v)) {
    if (k === '__proto__') return true;
    const x = (v as Record<string, unknown>)[k];
    if (k === 'constructor' && typeof x === 'object' && x !== null && 'prototype' in x) return true;
    if (hasForbiddenKey(x)) return true;
  }
  return false;
}

export const isPrepareFailure = (x: Prepared | PrepareFailure): x is PrepareFailure => 'code' in x;
