import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ApiKeyInfo, Org } from '../../service/ports';
import { authenticate, type AppContext } from '../context';
import { Address, ApiKeyView, OrgId, OrgView, RulesMode, Scope, SignerKeyView, Uuid, errors } from '../schemas';

/** Tax ids as printed on invoices (compared normalised: case, spaces and separators do not matter). */
const TaxIds = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 16 });
const OrgTaxIdsView = Type.Object({ orgId: OrgId, taxIds: Type.Array(Type.String()) });

const orgView = (o: Org) => ({ ...o, createdAt: new Date(o.createdAt).toISOString() });
const keyView = (k: ApiKeyInfo) => ({
  ...k,
  createdAt: new Date(k.createdAt).toISOString(),
  revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

/** Organisations, chain accounts, API keys and audit grants: admin scope only. */
export async function adminRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = authenticate(ctx, 'admin');
  const security = [{ bearer: [] }];

  r.post(
    '/v1/orgs',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Create an organisation (members get their own chain account with the registry roles)',
        security,
        body: Type.Object(
          {
            id: OrgId,
            name: Type.String({ minLength: 1, maxLength: 200 }),
            kind: Type.Optional(
              Type.Union([Type.Literal('member'), Type.Literal('auditor'), Type.Literal('operator')]),
            ),
            rules: Type.Optional(RulesMode),
            requireSignatures: Type.Optional(Type.Boolean()),
            taxIds: Type.Optional(TaxIds),
          },
          { additionalProperties: false },
        ),
        response: { 201: OrgView, ...errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (req, reply) => reply.code(201).send(orgView(await ctx.admin.createOrg(req.body))),
  );

  r.get(
    '/v1/orgs',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'List organisations',
        security,
        response: { 200: Type.Array(OrgView), ...errors(401, 403) },
      },
    },
    async () => (await ctx.admin.listOrgs()).map(orgView),
  );

  r.patch(
    '/v1/orgs/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary:
          'Change an organisation’s settings: rules (refuse | warn) for the arithmetic business rules, requireSignatures (refuse unsigned records)',
        security,
        params: Type.Object({ id: OrgId }),
        body: Type.Object(
          { rules: Type.Optional(RulesMode), requireSignatures: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: OrgView, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const { rules, requireSignatures } = req.body;
      let org = await ctx.admin.getOrg(req.params.id);
      if (rules !== undefined) org = await ctx.admin.setOrgRules(req.params.id, rules);
      if (requireSignatures !== undefined) org = await ctx.admin.setRequireSignatures(req.params.id, requireSignatures);
      return orgView(org);
    },
  );

  const SignerChange = Type.Object({
    orgId: OrgId,
    address: Address,
    since: Type.Integer(),
    until: Type.Union([Type.Integer(), Type.Null()]),
    txHash: Type.String(),
  });

  r.post(
    '/v1/orgs/:id/signers',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary:
          'Bind an address as SIGNER key of the organisation in the member directory (addKey, by the service’s registrar account)',
        description:
          'The organisation keeps the private key; its records signed by it get version 2 receipts. 409 SIGNER_KEY_TAKEN when the address is bound in the directory already (a key is bound once).',
        security,
        params: Type.Object({ id: OrgId }),
        body: Type.Object({ address: Address }, { additionalProperties: false }),
        response: { 201: SignerChange, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (req, reply) => reply.code(201).send(await ctx.admin.addSigner(req.params.id, req.body.address)),
  );

  r.delete(
    '/v1/orgs/:id/signers/:address',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Remove a SIGNER key of the organisation from the member directory (removeKey)',
        description:
          'Receipts signed before stay valid (the key was active at their anchor block); new signatures by it are refused within 5 s (the service caches directory answers that long).',
        security,
        params: Type.Object({ id: OrgId, address: Address }),
        response: { 200: SignerChange, ...errors(400, 401, 403, 404, 503) },
      },
    },
    async (req) => ctx.admin.removeSigner(req.params.id, req.params.address),
  );

  r.get(
    '/v1/orgs/:id/signers',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'The organisation’s SIGNER keys, active and removed (from the member directory’s events)',
        security,
        params: Type.Object({ id: OrgId }),
        response: {
          200: Type.Object({ orgId: OrgId, signers: Type.Array(SignerKeyView) }),
          ...errors(400, 401, 403, 404, 503),
        },
      },
    },
    async (req) => ({ orgId: req.params.id, signers: await ctx.admin.listSigners(req.params.id) }),
  );

  const RecordTypeParam = Type.Object({ recordType: Type.String({ minLength: 1, maxLength: 40 }) });
  const PolicyView = Type.Object({
    recordType: Type.String(),
    orgs: Type.Array(Type.String(), {
      description: 'organisations whose cosignature a record of this type needs (ids; [] = no policy)',
    }),
  });

  r.put(
    '/v1/policies/:recordType',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary:
          'Set the co-signing policy of a record type in the member directory (setCosignPolicy): the organisations whose signed cosignature a record of that type needs',
        security,
        params: RecordTypeParam,
        body: Type.Object(
          { orgs: Type.Array(OrgId, { maxItems: 16, uniqueItems: true }) },
          { additionalProperties: false },
        ),
        response: { 200: PolicyView, ...errors(400, 401, 403, 404, 422, 503) },
      },
    },
    async (req) => ctx.admin.setCosignPolicy(req.params.recordType, req.body.orgs),
  );

  r.get(
    '/v1/policies/:recordType',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'The co-signing policy of a record type (from the member directory)',
        security,
        params: RecordTypeParam,
        response: { 200: PolicyView, ...errors(400, 401, 403, 422, 503) },
      },
    },
    async (req) => ctx.admin.cosignPolicy(req.params.recordType),
  );

  r.post(
    '/v1/orgs/:id/rotate-key',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary:
          'Rotate the organisation’s chain key: a new ANCHORER account is bound in the directory, the old one removed; the organisation’s chain continues',
        security,
        params: Type.Object({ id: OrgId }),
        response: {
          200: Type.Object({ orgId: OrgId, previous: Address, address: Address }),
          ...errors(400, 401, 403, 404, 409, 503),
        },
      },
    },
    async (req) => ctx.admin.rotateKey(req.params.id),
  );

  r.put(
    '/v1/orgs/:id/tax-ids',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Replace an organisation’s tax ids (a claim may name invoices whose buyer is one of them)',
        security,
        params: Type.Object({ id: OrgId }),
        body: Type.Object({ taxIds: TaxIds }, { additionalProperties: false }),
        response: { 200: OrgTaxIdsView, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => ({ orgId: req.params.id, taxIds: await ctx.admin.setOrgTaxIds(req.params.id, req.body.taxIds) }),
  );

  r.get(
    '/v1/orgs/:id/tax-ids',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'An organisation’s tax ids',
        security,
        params: Type.Object({ id: OrgId }),
        response: { 200: OrgTaxIdsView, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      await ctx.admin.getOrg(req.params.id);
      return { orgId: req.params.id, taxIds: await ctx.admin.taxIdsOf(req.params.id) };
    },
  );

  r.get(
    '/v1/orgs/:id',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'One organisation',
        security,
        params: Type.Object({ id: OrgId }),
        response: { 200: OrgView, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => orgView(await ctx.admin.getOrg(req.params.id)),
  );

  r.post(
    '/v1/orgs/:id/keys',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Create an API key (the key is shown once)',
        security,
        params: Type.Object({ id: OrgId }),
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            scopes: Type.Array(Scope, { minItems: 1, maxItems: 3, uniqueItems: true }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Object({ key: Type.String(), info: ApiKeyView }), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      const { key, info } = await ctx.admin.createKey(req.params.id, req.body.name, req.body.scopes);
      return reply.code(201).send({ key, info: keyView(info) });
    },
  );

  r.get(
    '/v1/orgs/:id/keys',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'List API keys (never the secrets)',
        security,
        params: Type.Object({ id: OrgId }),
        response: { 200: Type.Array(ApiKeyView), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => (await ctx.admin.listKeys(req.params.id)).map(keyView),
  );

  r.delete(
    '/v1/orgs/:id/keys/:keyId',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Revoke an API key (effective immediately)',
        security,
        params: Type.Object({ id: OrgId, keyId: Uuid }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await ctx.admin.revokeKey(req.params.id, req.params.keyId);
      return reply.code(204).send(null);
    },
  );

  r.post(
    '/v1/orgs/:id/grants',
    {
      onRequest: admin,
      schema: {
        tags: ['admin'],
        summary: 'Let an auditor organisation read this organisation’s records',
        security,
        params: Type.Object({ id: OrgId }),
        body: Type.Object({ auditorOrgId: OrgId }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errors(400, 401, 403, 404) },
      },
    },
    async (req, reply) => {
      await ctx.admin.grant(req.params.id, req.body.auditorOrgId);
      return reply.code(204).send(null);
    },
  );
}
