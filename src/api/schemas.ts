import { Type, type TSchema } from 'typebox';
import { ReceiptSchema } from '../domain/receipt';
import { MAX_BATCH, RecordInputSchema } from '../service/prepare';

/** Shared primitives (DESIGN §2 shapes). */
export const Hex32 = Type.String({ pattern: '^0x[0-9a-f]{64}$', description: '0x + 64 lowercase hex' });
export const Address = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });
export const Uuid = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
  description: 'lowercase hyphenated UUID',
});
export const OrgId = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description: 'organisation id (slug)' });
export const RecordStatus = Type.Union([Type.Literal('pending'), Type.Literal('anchored'), Type.Literal('confirmed')]);
/** Organisation setting for the arithmetic business rules (issue 17). */
export const RulesMode = Type.Union([Type.Literal('refuse'), Type.Literal('warn')], {
  description:
    'refuse (default): a record that breaks an EN 16931 calculation rule is refused; warn: accepted with warnings',
});
export const Scope = Type.Union([Type.Literal('submit'), Type.Literal('audit'), Type.Literal('admin')]);

/** RFC 9457 problem details with our stable `code`; extensions allowed. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
  },
  { additionalProperties: true, $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' },
);
export const ProblemRef = Type.Ref('Problem');

/** Standard error responses for the OpenAPI document. */
export const errors = (...statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(statuses.map((s) => [s, ProblemRef]));

/** One record input (shared with the batch preparation, which checks each item on its own). */
export const RecordInput = RecordInputSchema;

export const SubmitResult = Type.Object({
  id: Uuid,
  digest: Hex32,
  commitment: Hex32,
  status: RecordStatus,
  duplicate: Type.Boolean({ description: 'true when the same record existed already (idempotent replay)' }),
  warnings: Type.Optional(
    Type.Array(
      Type.Object({
        code: Type.String(),
        rule: Type.String({ description: 'EN 16931 rule id, e.g. BR-CO-15' }),
        path: Type.String(),
        expected: Type.String(),
        given: Type.String(),
        message: Type.String(),
      }),
      { description: 'arithmetic rules the record breaks, accepted because its organisation chose rules: warn' },
    ),
  ),
});

export const BatchSubmitBody = Type.Object(
  {
    records: Type.Array(Type.Unknown(), {
      minItems: 1,
      maxItems: MAX_BATCH,
      description: 'each item is a record input; items are accepted or rejected on their own',
    }),
  },
  { additionalProperties: false },
);

export const BatchSubmitResult = Type.Object({
  records: Type.Array(Type.Union([SubmitResult, Type.Object({ error: ProblemRef })])),
  accepted: Type.Integer(),
  rejected: Type.Integer(),
});

/** Why a pending record is not being anchored (the anchoring worker's view of its organisation). */
export const AnchorBlocked = Type.Object(
  {
    code: Type.String({
      description:
        'INSUFFICIENT_FUNDS, REGISTRY_PAUSED, NOT_AUTHORIZED (no active ANCHORER key in the directory), CHAIN_UNREACHABLE, TX_UNDERPRICED or ANCHORING_FAILED',
    }),
    detail: Type.String(),
    since: Type.String({ format: 'date-time', description: 'first seen (unchanged while the reason stays the same)' }),
  },
  { description: 'present on pending records while anchoring is stuck' },
);

export const RecordView = Type.Object({
  id: Uuid,
  orgId: Type.String(),
  type: Type.String(),
  externalId: Type.Union([Type.String(), Type.Null()]),
  digest: Hex32,
  commitment: Hex32,
  parents: Type.Array(Uuid),
  supersedes: Type.Union([Uuid, Type.Null()]),
  supersededBy: Type.Optional(Type.Union([Uuid, Type.Null()], { description: 'the record that corrected this one' })),
  status: RecordStatus,
  acceptedAt: Type.String({ format: 'date-time' }),
  batch: Type.Union([
    Type.Object({
      id: Uuid,
      root: Hex32,
      seq: Type.Integer(),
      txHash: Type.Union([Hex32, Type.Null()]),
      blockNumber: Type.Union([Type.Integer(), Type.Null()]),
    }),
    Type.Null(),
  ]),
  blocked: Type.Optional(AnchorBlocked),
  settlement: Type.Optional(
    Type.Object(
      {
        currency: Type.String(),
        amountDue: Type.String(),
        credited: Type.String(),
        paid: Type.String(),
        outstanding: Type.String(),
        status: Type.Union([
          Type.Literal('open'),
          Type.Literal('partially-paid'),
          Type.Literal('paid'),
          Type.Literal('credited'),
          Type.Literal('voided'),
        ]),
      },
      { description: 'invoice.issued: amount due (BT-115), credit notes, payments and what is left to pay' },
    ),
  ),
  payload: Type.Optional(Type.Unknown()),
});

/**
 * Receipt (docs/formats.md §4): version 1, or version 2 for a record signed by its organisation's SIGNER key — the
 * domain's own schemas (src/domain/receipt.ts).
 */
export const Receipt = ReceiptSchema;

export const Verdict = Type.Object({
  valid: Type.Boolean(),
  organisationVerified: Type.Optional(
    Type.Boolean({
      description:
        'true only when the `organisation` check passed: the registry (2.x) bound the anchor to the organisation the record names',
    }),
  ),
  checks: Type.Array(
    Type.Object({
      name: Type.String(),
      status: Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Literal('skipped')]),
      reason: Type.Optional(Type.String()),
    }),
  ),
  signers: Type.Optional(
    Type.Array(
      Type.Object({
        signer: Type.String(),
        orgId: Type.String(),
        since: Type.Integer(),
        until: Type.Integer(),
      }),
      {
        description:
          'receipt v2: the SIGNER keys that signed the record (directory window [since, until), until 0: active), present only when the `signatures` check passed',
      },
    ),
  ),
  receipt: Type.Optional(
    Type.Object({
      recordId: Type.String(),
      orgId: Type.String(),
      type: Type.String(),
      root: Type.String(),
      chainId: Type.Integer(),
      registry: Type.String(),
    }),
  ),
  superseded: Type.Optional(
    Type.Object(
      { by: Type.String() },
      { description: 'present when this service knows the record and a later record of its org superseded it' },
    ),
  ),
});

export const VerifyBody = Type.Object(
  {
    receipt: Type.Unknown({
      description: 'a receipt (checked field by field, never rejected as a whole by the schema)',
    }),
    payload: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const BatchView = Type.Object({
  id: Uuid,
  orgId: Type.String(),
  seq: Type.Integer(),
  root: Hex32,
  prev: Hex32,
  leafCount: Type.Integer(),
  status: Type.String(),
  submitter: Address,
  anchor: Type.Object({
    chainId: Type.Integer(),
    registry: Address,
    txHash: Type.Union([Hex32, Type.Null()]),
    blockNumber: Type.Union([Type.Integer(), Type.Null()]),
    blockTimestamp: Type.Union([Type.Integer(), Type.Null()]),
    seq: Type.Union([Type.Integer(), Type.Null()]),
  }),
  confirmations: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const OrgView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  address: Type.Union([Address, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  rules: Type.Optional(RulesMode),
  requireSignatures: Type.Optional(
    Type.Boolean({ description: 'true: unsigned records are refused (SIGNATURE_REQUIRED); receipt version 2 only' }),
  ),
});

/** A SIGNER key of an organisation in the member directory (its records' signatures, receipt version 2). */
export const SignerKeyView = Type.Object({
  address: Address,
  since: Type.Integer({ description: 'block the key was added at' }),
  until: Type.Union([Type.Integer(), Type.Null()], { description: 'block it was removed at; null while active' }),
});

export const ApiKeyView = Type.Object({
  id: Uuid,
  orgId: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Scope),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
