import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { Problem } from '../http/problems.js';
import { errorResponses } from '../http/schemas.js';
import { Readable } from 'node:stream';
import { exportAudit } from './export-audit.js';
import { queryAudit } from './query-audit.js';
import { verifyChain } from './verify-chain.js';

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
    prevHash: Type.String(),
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
    order: Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: 'desc' }),
  },
  { additionalProperties: false },
);

const ExportQuery = Type.Object(
  { ...filterFields, format: Type.Union([Type.Literal('ndjson'), Type.Literal('csv')], { default: 'ndjson' }) },
  { additionalProperties: false },
);

const VerifyQuery = Type.Object(
  { from: Type.Optional(Type.String({ format: 'date-time' })), to: Type.Optional(Type.String({ format: 'date-time' })) },
  { additionalProperties: false },
);

const VerifyResult = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  firstBrokenId: Type.Union([Type.String(), Type.Null()]),
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

export function auditRoutes(deps: Pick<Deps, 'db' | 'clock' | 'metrics'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/audit',
      {
        schema: {
          operationId: 'queryAudit',
          summary: 'Audit events, newest first by default (auditors and admins; others: their own requests)',
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
          summary: 'Recompute the hash chain (auditors and admins); names the first broken event',
          tags: ['audit'],
          querystring: VerifyQuery,
          response: { 200: VerifyResult, ...errorResponses() },
        },
      },
      async (request) => {
        const result = await verifyChain(deps, request.caller, { from: toDate(request.query.from, 'from'), to: toDate(request.query.to, 'to') });
        deps.metrics.chainVerifications.inc({ outcome: result.ok ? 'ok' : 'broken' });
        return result;
      },
    );
  };
}
