import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Deps } from '../deps.js';
import { IdParams, errorResponses } from '../http/schemas.js';
import { createApiKey, listKeysOf, revokeKey } from './manage-api-keys.js';
import { createPrincipal, getPrincipal, listAllPrincipals, updatePrincipalByAdmin } from './manage-principals.js';
import {
  ApiKeyList,
  CreateApiKeyBody,
  CreatePrincipalBody,
  CreatedApiKey,
  KeyParams,
  Principal,
  PrincipalList,
  PrincipalListQuery,
  UpdatePrincipalBody,
} from './schemas.js';
import { apiKeyView, principalView } from './view.js';

const tags = ['principals'];

export function principalRoutes(deps: Pick<Deps, 'db' | 'clock'>): FastifyPluginAsync {
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/principals',
      {
        schema: {
          operationId: 'createPrincipal',
          summary: 'Create a person or service account (admin)',
          tags,
          body: CreatePrincipalBody,
          response: { 201: Principal, ...errorResponses(409) },
        },
      },
      async (request, reply) => reply.status(201).send(principalView(await createPrincipal(deps, request.caller, request.body))),
    );

    app.get(
      '/principals',
      {
        schema: {
          operationId: 'listPrincipals',
          summary: 'List principals (admin)',
          tags,
          querystring: PrincipalListQuery,
          response: { 200: PrincipalList, ...errorResponses() },
        },
      },
      async (request) => {
        const page = await listAllPrincipals(deps, request.caller, request.query);
        return { items: page.items.map(principalView), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/principals/:id',
      {
        schema: {
          operationId: 'getPrincipal',
          summary: 'Read one principal (admin)',
          tags,
          params: IdParams,
          response: { 200: Principal, ...errorResponses() },
        },
      },
      async (request) => principalView(await getPrincipal(deps, request.caller, request.params.id)),
    );

    app.patch(
      '/principals/:id',
      {
        schema: {
          operationId: 'updatePrincipal',
          summary: 'Change groups, Slack link or disable a principal (admin)',
          tags,
          params: IdParams,
          body: UpdatePrincipalBody,
          response: { 200: Principal, ...errorResponses(409) },
        },
      },
      async (request) => principalView(await updatePrincipalByAdmin(deps, request.caller, request.params.id, request.body)),
    );

    app.post(
      '/principals/:id/api-keys',
      {
        schema: {
          operationId: 'createApiKey',
          summary: 'Create an API key for a principal (admin); the key is shown once',
          tags,
          params: IdParams,
          body: CreateApiKeyBody,
          response: { 201: CreatedApiKey, ...errorResponses() },
        },
      },
      async (request, reply) => {
        const created = await createApiKey(deps, request.caller, request.params.id, request.body.name);
        return reply.status(201).header('cache-control', 'no-store').send(created);
      },
    );

    app.get(
      '/principals/:id/api-keys',
      {
        schema: {
          operationId: 'listApiKeys',
          summary: "List a principal's API keys, without the keys (admin)",
          tags,
          params: IdParams,
          response: { 200: ApiKeyList, ...errorResponses() },
        },
      },
      async (request) => ({ items: (await listKeysOf(deps, request.caller, request.params.id)).map(apiKeyView), nextCursor: null }),
    );

    app.delete(
      '/principals/:id/api-keys/:keyId',
      {
        schema: {
          operationId: 'revokeApiKey',
          summary: 'Revoke an API key (admin, or the key owner)',
          tags,
          params: KeyParams,
          response: { 204: { type: 'null' }, ...errorResponses() },
        },
      },
      async (request, reply) => {
        await revokeKey(deps, request.caller, request.params.id, request.params.keyId);
        return reply.status(204).send(null);
      },
    );
  };
}
