import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Deps } from '../deps.js';
import { IdParams, errorResponses } from '../http/schemas.js';
import { createRequest } from './create-request.js';
import { cancelRequest, revokeRequest } from './end-request.js';
import { extendRequest } from './extend-request.js';
import { getRequest, listVisibleRequests } from './read-requests.js';
import { reviewRequest } from './review-request.js';
import { Problem } from '../http/problems.js';
import { readAhead } from '../http/read-ahead.js';
import { readDecisionContext } from './repo.js';
import { CancelBody, CreateRequestBody, CreateRequestHeaders, ExtendBody, Request, RequestList, RequestListQuery, RequestWaitQuery, ReviewBody, RevokeBody } from './schemas.js';
import { waitForStatusChange } from './wait-for-status.js';

const tags = ['requests'];

export function requestRoutes(deps: Pick<Deps, 'db' | 'clock' | 'effects' | 'rolePolicies' | 'requestStatusChanges' | 'onCall' | 'onCallFailures' | 'onCallBudgetMs' | 'logger' | 'config' | 'policyAnalyzer' | 'rolePermissions' | 'evidenceBudgetMs'>): FastifyPluginAsync {
  const decisionContext = readAhead((id) => readDecisionContext(deps.db, id));
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();
    // Closing the server answers every held long-poll at once instead of waiting out its seconds.
    const closing = new AbortController();
    app.addHook('preClose', async () => closing.abort());

    app.post(
      '/requests',
      {
        schema: {
          operationId: 'createRequest',
          summary: 'Ask for a profile for a bounded time (honours Idempotency-Key)',
          tags,
          headers: CreateRequestHeaders,
          body: CreateRequestBody,
          response: { 201: Request, ...errorResponses(409) },
        },
      },
      async (request, reply) => {
        const created = await createRequest(deps, request.caller, request.body, request.headers['idempotency-key']);
        if (created.replayed) reply.header('idempotent-replayed', 'true');
        return reply.status(201).send(created.view);
      },
    );

    app.get(
      '/requests',
      {
        schema: {
          operationId: 'listRequests',
          summary: 'Requests the caller may see, newest first (own and reviewable; all for admins and auditors)',
          tags,
          querystring: RequestListQuery,
          response: { 200: RequestList, ...errorResponses() },
        },
      },
      async (request) => listVisibleRequests(deps, request.caller, request.query),
    );

    app.get(
      '/requests/:id',
      {
        schema: {
          operationId: 'getRequest',
          summary: 'One request (its requester, its approvers, admins, auditors); with waitSeconds, a long-poll for its next status',
          description:
            'With `waitSeconds=N&status=S`: answers at once when the status is not S, else as soon as it changes ' +
            '(a change committed by any Brevet process), else after N seconds with the unchanged request.',
          tags,
          params: IdParams,
          querystring: RequestWaitQuery,
          response: { 200: Request, ...errorResponses() },
        },
      },
      async (request, reply) => {
        const { waitSeconds, status } = request.query;
        if (waitSeconds === undefined) return getRequest(deps, request.caller, request.params.id);
        if (status === undefined) {
          throw new Problem('validation', '/querystring/status is required with waitSeconds', {
            errors: [{ field: '/querystring/status', message: 'is required with waitSeconds' }],
          });
        }
        const gone = new AbortController();
        reply.raw.once('close', () => gone.abort());
        const signal = AbortSignal.any([gone.signal, closing.signal]);
        return waitForStatusChange(deps, request.caller, request.params.id, { waitSeconds, status, signal });
      },
    );

    app.post(
      '/requests/:id/reviews',
      {
        schema: {
          operationId: 'reviewRequest',
          summary: 'Approve or deny (an eligible approver who is not the requester)',
          tags,
          params: IdParams,
          body: ReviewBody,
          response: { 200: Request, ...errorResponses(409) },
        },
        config: { readAhead: decisionContext.start },
      },
      async (request) => reviewRequest(deps, request.caller, request.params.id, { ...request.body, channel: 'api' }, decisionContext.take(request)),
    );

    app.post(
      '/requests/:id/cancel',
      {
        schema: {
          operationId: 'cancelRequest',
          summary: 'Withdraw a pending or approved request (requester)',
          tags,
          params: IdParams,
          body: CancelBody,
          response: { 200: Request, ...errorResponses(409) },
        },
        // The reason is optional, so no body at all (`curl -X POST`) means `{}`.
        preValidation: async (request) => {
          request.body ??= {};
        },
      },
      async (request) => cancelRequest(deps, request.caller, request.params.id, request.body.reason ?? null),
    );

    app.post(
      '/requests/:id/revoke',
      {
        schema: {
          operationId: 'revokeRequest',
          summary: 'End an approved or active window now (requester or admin)',
          tags,
          params: IdParams,
          body: RevokeBody,
          response: { 200: Request, ...errorResponses(409) },
        },
      },
      async (request) => revokeRequest(deps, request.caller, request.params.id, request.body.reason),
    );

    app.post(
      '/requests/:id/extend',
      {
        schema: {
          operationId: 'extendRequest',
          summary: 'Ask for more time on an active request (requester); reviewed under approval.extension',
          tags,
          params: IdParams,
          body: ExtendBody,
          response: { 201: Request, ...errorResponses(409) },
        },
      },
      async (request, reply) => reply.status(201).send(await extendRequest(deps, request.caller, request.params.id, request.body)),
    );
  };
}
