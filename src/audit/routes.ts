import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { errorResponses } from '../http/schemas.js';
import { queryAudit } from './query-audit.js';

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

const AuditQuery = Type.Object(
  {
    actor: Type.Optional(Id),
    action: Type.Optional(Type.String({ pattern: '^[a-z-]+\\.[a-z-]+$', maxLength: 64 })),
    requestId: Type.Optional(Id),
    profileId: Type.Optional(Id),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    cursor: Type.Optional(Type.String({ maxLength: 32 })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
    order: Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: 'desc' }),
  },
  { additionalProperties: false },
);

export function auditRoutes(deps: Pick<Deps, 'db'>): FastifyPluginAsync {
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
        return queryAudit(deps, request.caller, {
          ...rest,
          from: from === undefined ? undefined : new Date(from),
          to: to === undefined ? undefined : new Date(to),
        });
      },
    );
  };
}
