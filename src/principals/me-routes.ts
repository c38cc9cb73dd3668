import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Deps } from '../deps.js';
import { hasMfa } from '../domain/caller.js';
import { errorResponses } from '../http/schemas.js';
import { Problem } from '../http/problems.js';
import { findPrincipal } from './repo.js';
import { Type } from 'typebox';
import { linkOwnSlackUser } from './link-slack.js';
import { Me, Principal } from './schemas.js';
import { principalView } from './view.js';

export function meRoutes(deps: Pick<Deps, 'db' | 'clock' | 'slack'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    app.patch(
      '/me',
      {
        schema: {
          operationId: 'linkMySlackUser',
          summary: 'Link (or unlink with null) your own Slack user; its profile e-mail must be yours',
          tags: ['principals'],
          body: Type.Object(
            { slackUserId: Type.Union([Type.String({ pattern: '^[UW][A-Z0-9]{2,30}$' }), Type.Null()]) },
            { additionalProperties: false },
          ),
          response: { 200: Principal, ...errorResponses(409) },
        },
      },
      async (request) => principalView(await linkOwnSlackUser(deps, request.caller, request.body.slackUserId)),
    );

    app.get(
      '/me',
      {
        schema: {
          operationId: 'getMe',
          summary: 'Who the caller is, with roles and MFA state',
          tags: ['principals'],
          response: { 200: Me, ...errorResponses() },
        },
      },
      async (request) => {
        const caller = request.caller;
        const row = await findPrincipal(deps.db, caller.id);
        if (row === undefined) throw new Problem('not-found', 'no such principal');
        return {
          ...principalView(row),
          roles: { admin: caller.isAdmin, auditor: caller.isAuditor },
          authenticatedVia: caller.via,
          mfa: hasMfa(caller),
        };
      },
    );
  };
}
