import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Deps } from '../deps.js';
import { hasMfa } from '../domain/caller.js';
import { errorResponses } from '../http/schemas.js';
import { Problem } from '../http/problems.js';
import { findPrincipal } from './repo.js';
import { Me } from './schemas.js';
import { principalView } from './view.js';

export function meRoutes(deps: Pick<Deps, 'db'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
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
