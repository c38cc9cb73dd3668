import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../deps.js';
import { IdParams, errorResponses } from '../http/schemas.js';
import { readActivity } from './read-activity.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const ActivityReport = Type.Object(
  {
    status: Type.Union([Type.Literal('pending'), Type.Literal('complete')], {
      description: 'complete: a pass made at least BREVET_ACTIVITY_SETTLE_SECONDS after access ended found nothing new; until then pending',
    }),
    givenUp: Type.Boolean({
      description: 'A pending report that will not be completed: no settled pass within 1 h of the end, or a role whose CloudTrail Brevet cannot read (lastError says why)',
    }),
    events: Type.Integer({ description: 'CloudTrail management events made with the issued access keys' }),
    byAction: Type.Record(Type.String(), Type.Integer(), { description: '`<service>:<eventName>` → count, e.g. ec2:RunInstances' }),
    errors: Type.Integer({ description: 'Events whose CloudTrailEvent has an errorCode' }),
    first: Nullable(Type.String({ format: 'date-time', description: 'Earliest EventTime' })),
    last: Nullable(Type.String({ format: 'date-time', description: 'Latest EventTime' })),
    endedAt: Type.String({ format: 'date-time', description: 'When access ended: the revocation (deny-policy) or the last credential’s Expiration' }),
    lastPassAt: Nullable(Type.String({ format: 'date-time' })),
    lastError: Nullable(Type.String({ description: 'Why the last CloudTrail pass failed, if it did' })),
  },
  {
    $id: 'ActivityReport',
    examples: [
      {
        status: 'complete',
        givenUp: false,
        events: 4,
        byAction: { 'ec2:RunInstances': 3, 'iam:ListRoles': 1 },
        errors: 1,
        first: '2026-12-03T09:05:00.000Z',
        last: '2026-12-03T09:20:00.000Z',
        endedAt: '2026-12-03T09:30:00.000Z',
        lastPassAt: '2026-12-03T09:45:00.000Z',
        lastError: null,
      },
    ],
  },
);

export function evidenceRoutes(deps: Pick<Deps, 'db' | 'clock'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/requests/:id/activity',
      {
        schema: {
          operationId: 'getRequestActivity',
          summary: 'What was done with a request’s credentials, from CloudTrail, once its access ended (who may see the request)',
          tags: ['requests'],
          params: IdParams,
          response: { 200: ActivityReport, ...errorResponses() },
        },
      },
      async (request) => readActivity(deps, request.caller, request.params.id),
    );
  };
}
