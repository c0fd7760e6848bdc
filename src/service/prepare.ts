import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { canonicalize, digestCanonical } from '../domain/canonicalize';
import { DomainError } from '../domain/errors';
import { MAX_JSON_DEPTH, findPrototypeKey, isPrototypeKey, jsonPointer } from '../domain/json-walk';
import { isRecordType, validatePayload, type RecordType } from '../domain/record-types';
import { evaluateRecord, type RuleFacts, type RuleViolation } from '../domain/record-rules';
import {
  MAX_SIGNATURES,
  recordSigningDomain,
  type RecordSignature,
  type RecordSigningDomain,
} from '../domain/signatures';
import { computeCommitment } from '../domain/commitment';
import { isCanonicalSignatureFast, recoverSignerAddress } from './signer-keys';
import { getAddress } from 'ethers';
import { ServiceError, type ErrorCode } from './errors';
import { newRecordId, newSalt } from './ids';

/** One record as a client submits it (DESIGN §5). */
export interface RecordInput {
  type: string;
  externalId?: string;
  payload: unknown;
  /** Parent record ids. */
  parents?: string[];
  /** Id of an earlier record of the same org that this one corrects. */
  supersedes?: string;
  /** The record id the client chose (UUIDv7, lowercase hyphenated); required with `signatures`. */
  id?: string;
  /** The salt the client chose (0x + 64 lowercase hex); required with `signatures`. */
  salt?: string;
  /** Signatures of the organisation's SIGNER keys over the commitment (receipt version 2). */
  signatures?: RecordSignature[];
}

/** A lowercase hyphenated UUID of version 7 (RFC 9562) with the RFC variant. */
export const UUID_V7_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
const UUID_V7_RE = new RegExp(UUID_V7_PATTERN);
const SALT_RE = /^0x[0-9a-f]{64}$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** EIP-55 forms of the signers seen lately (a batch names a few signers, each checksummed once). */
const checksummed = new Map<string, string>();
function checksumOf(address: string): string {
  let c = checksummed.get(address);
  if (c === undefined) {
    c = getAddress(address); // throws on a wrong mixed-case checksum
    if (checksummed.size >= 1024) checksummed.clear();
    checksummed.set(address, c);
  }
  return c;
}

/** A validated, canonicalized and hashed record input: plain data, so it can cross a thread boundary. */
export interface Prepared {
  input: Omit<RecordInput, 'payload'>;
  type: RecordType;
  canonical: string;
  digest: string;
  parents: string[];
  /** Amounts the business rules compare with stored records, and arithmetic rule violations (issue 17). */
  facts?: RuleFacts;
  violations?: RuleViolation[];
  /**
   * A signed record without parents, prepared with its organisation and chain known (batch route): its commitment
   * (for `orgId`) and the address each signature recovers to (lowercase, null: none), so that the transaction need
   * neither recompute the commitment nor recover them. Used only for a record of `orgId` still without parents, and
   * its signers only when the commitment is the same and the domain too (`domain`).
   */
  recovered?: { domain: string; orgId: string; commitment: string; signers: (string | null)[] };
  /**
   * A record without parents and without an id or salt of the client's, prepared with its organisation known
   * (batch route, {@link prepareBatchBody}'s `orgId`): the id and salt drawn for it there and its commitment for
   * `orgId`, so that the transaction (on the API's thread) need not compute it — the commitment's keccak and
   * input checks were ~19 % of that thread's busy time under bulk ingest (bench/profile.ts batch). Used only for a
   * record of `orgId` still without parents, when the caller draws no id or salt itself (`idFor`, `saltFor`).
   */
  drawn?: { orgId: string; id: string; salt: string; commitment: string };
}

/** Who submits a batch, on which chain: lets the preparation recover signatures of records without parents. */
export interface SigningContext {
  orgId: string;
  chainId: number;
  registry: string;
}

/** The key of an EIP-712 domain in {@link Prepared.recovered}. */
export const domainKey = (d: { chainId: number; verifyingContract: string }) =>
  `${d.chainId}:${d.verifyingContract.toLowerCase()}`;

/** Recovers the signers of a prepared signed record without parents (CPU work, off the main thread for batches). */
function recoverPrepared(p: Prepared, ctx: SigningContext, domain: RecordSigningDomain): void {
  const sigs = p.input.signatures;
  if (!sigs?.length || p.parents.length || p.input.id === undefined || p.input.salt === undefined) return;
  const commitment = computeCommitment({
    recordId: p.input.id,
    orgId: ctx.orgId,
    type: p.type,
    digest: p.digest,
    salt: p.input.salt,
    parents: [],
  });
  p.recovered = {
    domain: domainKey(domain),
    orgId: ctx.orgId,
    commitment,
    signers: sigs.map((s) => recoverSignerAddress(domain, commitment, s.signature, { canonicalChecked: true })),
  };
}

/** {@link Prepared.drawn} for a record without parents, id or salt of its own (CPU work, off the main thread for batches). */
function drawPrepared(p: Prepared, orgId: string): void {
  if (p.parents.length || p.input.id !== undefined || p.input.salt !== undefined) return;
  const id = newRecordId();
  const salt = newSalt();
  const commitment = computeCommitment({ recordId: id, orgId, type: p.type, digest: p.digest, salt, parents: [] });
  p.drawn = { orgId, id, salt, commitment };
}

/** A refused item as plain data (a ServiceError crossing a thread boundary). */
export interface PrepareFailure {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Types that only dedicated use cases may create (they have on-chain side effects). */
const RESERVED_TYPES = new Set(['expense.claim']);

/**
 * The one check of untrusted JSON that both submit routes apply (the single route's body also passes fastify's
 * parser, which refuses the same keys): no `__proto__` key and no `constructor` holding a `prototype`, at any
 * depth and however the key was spelled in the JSON text (`"\u005f_proto__"` parses to `__proto__`), and
 * nesting within {@link MAX_JSON_DEPTH}. Iterative: any depth is answered. `at`: JSON Pointer of `value`.
 */
export function untrustedJsonProblem(value: unknown, at = '', maxDepth = MAX_JSON_DEPTH): PrepareFailure | null {
  const bad = findPrototypeKey(value, { maxDepth });
  if (!bad) return null;
  const where = (at + jsonPointer(bad.path)).slice(0, 200) || '/';
  if (bad.reason === 'depth') {
    return {
      code: 'JSON_TOO_DEEP',
      message: `JSON nested deeper than ${MAX_JSON_DEPTH} levels at ${where}`,
      details: { maxDepth: MAX_JSON_DEPTH },
    };
  }
  return {
    code: 'MALFORMED_JSON',
    message: `Object contains forbidden prototype property (at ${where})`,
  };
}

const failureToError = (f: PrepareFailure) => new ServiceError(f.code, f.message, f.details);

/**
 * The checks of a client-chosen id, salt and signatures that need nothing stored: formats, canonical signatures,
 * distinct signers; signers come back EIP-55 checksummed. Whether each signature recovers to its signer, and the
 * signer is an active SIGNER key of the organisation, is checked once the commitment is known (RecordService).
 */
function checkSigned(input: RecordInput): ServiceError | { signatures?: RecordSignature[] } {
  const { id, salt, signatures } = input;
  if (id !== undefined && !(typeof id === 'string' && UUID_V7_RE.test(id)))
    return new ServiceError('RECORD_ID_INVALID', 'id must be a UUIDv7, lowercase and hyphenated', { id });
  if (salt !== undefined && !(typeof salt === 'string' && SALT_RE.test(salt)))
    return new ServiceError('SALT_INVALID', 'salt must be 0x + 64 lowercase hex (32 random bytes)');
  if (signatures === undefined) return {};
  if (id === undefined || salt === undefined)
    return new ServiceError(
      'SIGNED_RECORD_INCOMPLETE',
      'A signed record names its id and salt: the signature covers the commitment, which includes them',
    );
  const out: RecordSignature[] = [];
  for (const [i, sig] of signatures.entries()) {
    if (!ADDRESS_RE.test(sig.signer))
      return new ServiceError('SIGNATURE_INVALID', `signatures/${i}/signer is not an address`, { index: i });
    let signer: string;
    try {
      signer = checksumOf(sig.signer);
    } catch {
      return new ServiceError('SIGNATURE_INVALID', `signatures/${i}/signer has a wrong EIP-55 checksum`, {
        index: i,
      });
    }
    if (!isCanonicalSignatureFast(sig.signature))
      return new ServiceError(
        'SIGNATURE_INVALID',
        `signatures/${i} is not a canonical 65-byte signature (r ‖ s ‖ v, low s, v 27 or 28)`,
        { index: i, signer },
      );
    if (out.some((o) => o.signer === signer))
      return new ServiceError('SIGNER_DUPLICATE', `${signer} signs the record twice`, { index: i, signer });
    out.push({ signer, signature: sig.signature.toLowerCase() });
  }
  return { signatures: out };
}

/** Validation, canonicalization and hashing: pure CPU work done before the transaction opens. */
export function prepareRecord(input: RecordInput, allowReserved: boolean): Prepared | ServiceError {
  const bad = untrustedJsonProblem(input.payload, '/payload');
  if (bad) return failureToError(bad);
  return prepareChecked(input, allowReserved);
}

/** {@link prepareRecord} for input whose JSON {@link untrustedJsonProblem} has checked already. */
function prepareChecked(input: RecordInput, allowReserved: boolean): Prepared | ServiceError {
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
  const signed = checkSigned(input);
  if (signed instanceof ServiceError) return signed;
  const { type, externalId, parents, supersedes, id, salt } = input;
  return {
    input: {
      type,
      externalId,
      parents,
      supersedes,
      ...(id !== undefined ? { id } : {}),
      ...(salt !== undefined ? { salt } : {}),
      ...(signed.signatures ? { signatures: signed.signatures } : {}),
    },
    type: input.type,
    canonical,
    digest: digestCanonical(canonical),
    parents: [...new Set(parents ?? [])],
    ...evaluateRecord(input.type, input.payload),
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
    // Formats of id and salt are checked by the service (RECORD_ID_INVALID, SALT_INVALID), not by this schema.
    id: Type.Optional(
      Type.String({ maxLength: 64, description: 'record id chosen by the client: UUIDv7, lowercase, hyphenated' }),
    ),
    salt: Type.Optional(
      Type.String({ maxLength: 80, description: 'salt chosen by the client: 0x + 64 lowercase hex (32 random bytes)' }),
    ),
    signatures: Type.Optional(
      Type.Array(
        Type.Object(
          {
            signer: Type.String({ maxLength: 42, description: 'address of a SIGNER key of the organisation' }),
            signature: Type.String({
              maxLength: 132,
              description: 'EIP-712 signature of RecordCommitment(bytes32 commitment): 0x + 130 hex, low s',
            }),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          maxItems: MAX_SIGNATURES,
          description: `1 to ${MAX_SIGNATURES} signatures of the organisation's SIGNER keys (receipt version 2); id and salt required`,
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const MAX_BATCH = 10_000;
let itemCheck: ReturnType<typeof Compile> | undefined;

/**
 * The whole batch-submit body, from its raw JSON text to prepared items: parse, check the envelope (prototype
 * keys there refuse the body, as fastify's parser does), check and prepare each item on its own (prototype keys
 * or nesting past {@link MAX_JSON_DEPTH} in an item refuse that item: {@link untrustedJsonProblem}). Never
 * throws for bad input, whatever its depth. Pure CPU work: the API runs it on a worker thread for large batches
 * (src/service/prepare-pool.ts).
 */
export function prepareBatchBody(
  raw: string,
  signing?: SigningContext,
  /** The submitting organisation: records without parents, id or salt get theirs drawn here ({@link Prepared.drawn}). */
  orgId?: string,
): { items: (Prepared | PrepareFailure)[] } | { error: PrepareFailure } {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { error: { code: 'MALFORMED_JSON', message: 'Body is not valid JSON' } };
  }
  // Prototype keys next to "records" refuse the body, as fastify's parser does on every other route; inside a
  // record they refuse that record (below), with the same check the single route applies.
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const key = Object.keys(body).find((k) => isPrototypeKey(k, (body as Record<string, unknown>)[k]));
    if (key !== undefined) {
      return {
        error: { code: 'MALFORMED_JSON', message: `Object contains forbidden prototype property (at /${key})` },
      };
    }
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
  let domain: RecordSigningDomain | undefined;
  const signingDomain = () => (domain ??= recordSigningDomain(signing!.chainId, signing!.registry));
  return {
    items: records.map((item: unknown, i): Prepared | PrepareFailure => {
      // The item is one level above its payload: the payload gets the same depth cap as on the single route.
      const bad = untrustedJsonProblem(item, `/records/${i}`, MAX_JSON_DEPTH + 1);
      if (bad) return bad;
      if (!check.Check(item)) {
        const errors = check
          .Errors(item)
          .slice(0, 10)
          .map((e) => ({ path: e.instancePath, message: e.message }));
        return { code: 'VALIDATION_FAILED', message: 'Record input does not match the schema', details: { errors } };
      }
      const p = prepareChecked(item as RecordInput, false);
      if (p instanceof ServiceError) return { code: p.code, message: p.message, details: p.details };
      if (signing && p.input.signatures) recoverPrepared(p, signing, signingDomain());
      else if (orgId !== undefined) drawPrepared(p, orgId);
      return p;
    }),
  };
}

export const isPrepareFailure = (x: Prepared | PrepareFailure): x is PrepareFailure => 'code' in x;
