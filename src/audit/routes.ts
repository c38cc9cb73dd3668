import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { Problem } from '../http/problems.js';
import { errorResponses } from '../http/schemas.js';
import { Readable } from 'node:stream';
import { exportAudit } from './export-audit.js';
import { queryAudit } from './query-audit.js';
import { verifyAudit } from './verify-trail.js';
import { blocksAfter } from './checkpoints.js';
import { requireAuditorOrAdmin } from '../http/guards.js';

const Id = Type.String({ minLength: 1, maxLength: 128 });

export const AuditEvent = Type.Object(
  {
    id: Type.String(),
    occurredAt: Type.String({ format: 'date-time' }),
    actor: Type.Object({ id: Type.String(), kind: Type.String() }),
    action: Type.String(),
    requestId: Type.Union([Type.String(), Type.Null()]),
    profileId: Type.Union([Type.String(), Type.Null()]),
    sourceIp: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
    prevHash: Type.Union([Type.String(), Type.Null()], { description: 'Events written before sealed blocks only: the hash of the event before (milestone-1 chain)' }),
    hash: Type.String(),
  },
  { $id: 'AuditEvent' },
);

const filterFields = {
    actor: Type.Optional(Id),
    action: Type.Optional(Type.String({ pattern: '^[a-z-]+\\.[a-z-]+$', maxLength: 64 })),
    requestId: Type.Optional(Id),
    profileId: Type.Optional(Id),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
};

const AuditQuery = Type.Object(
  {
    ...filterFields,
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$', description: 'nextCursor of the previous page' })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    // Oldest first, in id order as SPEC §6/§7.1 show a request's trail (request.created first); desc on demand.
    order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc', description: '`asc` (default): oldest first, in id order; `desc`: newest first' }),
  },
  { additionalProperties: false },
);

const ExportQuery = Type.Object(
  { ...filterFields, format: Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { default: 'ndjson' }) },
  { additionalProperties: false },
);

const VerifyResult = Type.Object({
  ok: Type.Boolean({ description: 'Every event and every block holds (unsealed events do not make it false)' }),
  checked: Type.Integer({ description: 'Events whose hash was recomputed' }),
  firstBrokenId: Type.Union([Type.String(), Type.Null()], { description: 'The first event that does not hold; for a broken block, the first event id it claims' }),
  firstBrokenBlock: Type.Optional(Type.Union([Type.Integer(), Type.Null()], { description: 'When ok is false: the seq of the first block that does not hold (null: an event)' })),
  problem: Type.Optional(Type.String({ description: 'When ok is false: what does not hold, in a few words' })),
  sealedThrough: Type.Union([Type.String(), Type.Null()], { description: 'The last event id of the last block' }),
  blocks: Type.Integer({ description: 'Blocks checked' }),
  unsealed: Type.Integer({ description: 'Events past the last block, not sealed yet' }),
  unsigned: Type.Integer({ description: 'Blocks sealed without a signature (or not checkable: this process has no key)' }),
});

const Checkpoint = Type.Object(
  {
    seq: Type.Integer({ minimum: 1, examples: [7] }),
    firstEventId: Type.String({ examples: ['1043'] }),
    lastEventId: Type.String({ examples: ['1210'] }),
    count: Type.Integer({ minimum: 1, examples: [168] }),
    root: Type.String({ description: 'RFC 6962 Merkle root over the events\' hashes', examples: ['9f2c…'] }),
    prevBlockHash: Type.String({ description: 'The block before\'s hash (the first block: the milestone-1 chain\'s head, or 64 zeros)' }),
    sealedAt: Type.String({ format: 'date-time' }),
    hash: Type.String({ description: 'sha256 over the canonical JSON of the fields above' }),
    signature: Type.Union([Type.String(), Type.Null()], { description: 'base64 Ed25519 over the 32 bytes of hash; null when sealed without a key' }),
  },
  { $id: 'AuditCheckpoint' },
);

const CheckpointQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'nextCursor of the previous page' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

const PublicKey = Type.Object({
  alg: Type.Literal('Ed25519'),
  publicKey: Type.String({ description: 'SPKI PEM', examples: ['-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA…\n-----END PUBLIC KEY-----\n'] }),
  keyId: Type.String({ description: 'First 16 hex digits of sha256 over the key\'s SPKI DER', examples: ['3f1a9c0e5b7d2a64'] }),
});

/**
 * The date-time format admits what a JavaScript Date cannot hold (a leap second, `23:59:60`):
 * such a bound is bad input naming its field, not an Invalid Date that fails deep in the query.
 */
function toDate(value: string | undefined, field: 'from' | 'to'): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new Problem('validation', `/querystring/${field} is not a usable date-time`, {
      errors: [{ field: `/querystring/${field}`, message: 'is not a usable date-time' }],
    });
  }
  return date;
}

/** The rest of a generator whose first result was already read. */
async function* continueWith<T>(first: IteratorResult<T>, rest: AsyncGenerator<T>): AsyncGenerator<T> {
  if (first.done === true) return;
  yield first.value;
  yield* rest;
}

export function auditRoutes(deps: Pick<Deps, 'db' | 'clock' | 'metrics' | 'auditSigner' | 'config'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/audit',
      {
        schema: {
          operationId: 'queryAudit',
          summary: 'Audit events, oldest first (id order) by default (auditors and admins; others: their own requests)',
          tags: ['audit'],
          querystring: AuditQuery,
          response: { 200: Type.Object({ items: Type.Array(AuditEvent), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses() },
        },
      },
      async (request) => {
        const { from, to, ...rest } = request.query;
        return queryAudit(deps, request.caller, { ...rest, from: toDate(from, 'from'), to: toDate(to, 'to') });
      },
    );

    app.get(
      '/audit/export',
      {
        schema: {
          operationId: 'exportAudit',
          summary: 'Stream the audit events, oldest first, as NDJSON or CSV (same filters as the query)',
          tags: ['audit'],
          querystring: ExportQuery,
          response: {
            200: {
              description: 'One event per line (NDJSON) or per record (CSV, RFC 4180, with a header)',
              content: { 'application/x-ndjson': { schema: Type.String() }, 'text/csv': { schema: Type.String() } },
            },
            ...errorResponses(),
          },
        },
      },
      async (request, reply) => {
        const { format, from, to, ...filters } = request.query;
        const stamp = deps.clock.now().toISOString().replace(/[:.]/g, '-');
        const chunks = exportAudit(deps, request.caller, { ...filters, from: toDate(from, 'from'), to: toDate(to, 'to') }, format);
        // The first chunk is read before the status is sent: a query that fails at the start is
        // answered as a problem, not as a 200 cut off mid-stream.
        const first = await chunks.next();
        const stream = Readable.from(continueWith(first, chunks));
        // The declared schema documents the text; the body is streamed, which Fastify sends as is.
        return reply
          .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="brevet-audit-${stamp}.${format}"`)
          .header('cache-control', 'no-store')
          .send(stream as unknown as string);
      },
    );

    app.get(
      '/audit/verify',
      {
        schema: {
          operationId: 'verifyAudit',
          summary: 'Check every event hash and every sealed block: Merkle root, chain and signature; names the first broken event or block',
          description:
            'Auditors and admins verify the whole trail. Anyone else verifies the events of their own requests and the blocks that seal them (each linked to the block before it): `checked` and `unsealed` count only their events.',
          tags: ['audit'],
          response: { 200: VerifyResult, ...errorResponses() },
        },
      },
      async (request) => {
        const result = await verifyAudit({ ...deps, checkpointDir: deps.config.audit.checkpointDir }, request.caller);
        deps.metrics.chainVerifications.inc({ outcome: result.ok ? 'ok' : 'broken' });
        // An intact trail answers SPEC §11's keys alone; a broken one also says which block and why.
        const { firstBrokenBlock, problem, ...specified } = result;
        return result.ok ? specified : { ...specified, firstBrokenBlock, problem: problem ?? 'does not hold' };
      },
    );

    app.get(
      '/audit/checkpoints',
      {
        schema: {
          operationId: 'listAuditCheckpoints',
          summary: 'Sealed blocks (checkpoints), oldest first, as appended to BREVET_AUDIT_CHECKPOINT_DIR (auditors and admins)',
          tags: ['audit'],
          querystring: CheckpointQuery,
          response: { 200: Type.Object({ items: Type.Array(Checkpoint), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses() },
        },
      },
      async (request) => {
        requireAuditorOrAdmin(request.caller);
        const { cursor, limit } = request.query;
        const items = await blocksAfter(deps.db, cursor === undefined ? 0 : Number(cursor), limit + 1);
        return { items: items.slice(0, limit), nextCursor: items.length > limit ? String(items[limit - 1]!.seq) : null };
      },
    );

    app.get(
      '/audit/public-key',
      {
        schema: {
          operationId: 'getAuditPublicKey',
          summary: 'The Ed25519 public key sealed blocks are signed with (404 when this deployment seals unsigned)',
          tags: ['audit'],
          response: { 200: PublicKey, ...errorResponses() },
        },
      },
      async () => {
        const signer = deps.auditSigner;
        if (signer === undefined) throw new Problem('not-found', 'no signing key: BREVET_AUDIT_SIGNING_KEY is not set, blocks are sealed unsigned');
        return { alg: 'Ed25519' as const, publicKey: signer.publicKeyPem, keyId: signer.keyId };
      },
    );
  };
}
