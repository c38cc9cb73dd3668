import { evidenceRoutes } from './evidence/routes.js';
import { isIP } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Deps } from './deps.js';
import type { Caller } from './domain/caller.js';
import { auditRoutes } from './audit/routes.js';
import { credentialRoutes } from './credentials/routes.js';
import { answerFrameworkError, installErrorHandling } from './http/error-handler.js';
import { healthRoutes } from './http/health-routes.js';
import { installMetrics } from './http/metrics.js';
import { OneLinePerRequest } from './http/request-log.js';
import { polishOpenApi } from './http/openapi-polish.js';
import { installRateLimits } from './http/rate-limits.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { HTTP_TIMEOUTS, timeoutOptions, type HttpTimeouts } from './http/server-timeouts.js';
import { ProblemSchema } from './http/schemas.js';
import { refuseUnsafeRequest, validatorCompiler } from './http/validation.js';
import { meRoutes } from './principals/me-routes.js';
import { slackRoutes } from './slack/routes.js';
import { slackWithoutToken } from './adapters/slack.js';
import { principalRoutes } from './principals/routes.js';
import { profileRoutes } from './profiles/routes.js';
import { requestRoutes } from './requests/routes.js';
import { bodyProblem, decodeUtf8, firstRepeatedKey, refuseForeignCharset } from './http/json-body.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every /v1 route. */
    caller: Caller;
  }
}

/** JSON bodies above this are refused with 413 before parsing (SPEC §3 rule 7). */
export const BODY_LIMIT_BYTES = 64 * 1024;

export type App = FastifyInstance;

export interface AppOptions {
  /** Tests shorten the HTTP timeouts to see them expire; production keeps HTTP_TIMEOUTS. */
  httpTimeouts?: Partial<HttpTimeouts>;
}

/** Builds the whole HTTP application from its dependencies. Never listens: server.ts and the tests do. */
export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<App> {
  const app = Fastify({
    ...timeoutOptions({ ...HTTP_TIMEOUTS, ...options.httpTimeouts }),
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: trustProxyOption(deps.config.trustProxy),
    bodyLimit: BODY_LIMIT_BYTES,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    requestIdHeader: false,
    // One line per request instead of Fastify's two (src/http/request-log.ts).
    logController: new OneLinePerRequest(),
    frameworkErrors: answerFrameworkError,
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API takes JSON only: without Fastify's default text/plain parser a text body is refused
  // as 415 `unsupported-media-type` instead of reaching validation as "must be object".
  app.removeContentTypeParser('text/plain');
  // Bodies in another charset, not UTF-8 or repeating a key are refused (src/http/json-body.ts).
  // An empty body sent as application/json (what many clients send with every POST) is no body:
  // a route whose body is optional takes it as `{}`, any other answers 400 naming /body.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      refuseForeignCharset(request.headers['content-type']);
      text = decodeUtf8(body as Buffer);
    } catch (error) {
      return done(error as Error, undefined);
    }
    if (text === '') return done(null, undefined);
    parseJson(request, text, (error, value) => {
      if (error !== null) return done(error, undefined);
      let repeated: string | undefined;
      try {
        repeated = firstRepeatedKey(text);
      } catch {
        // JSON.parse took it but the scan did not: refused, never guessed at.
        return done(bodyProblem('/body', 'is not acceptable JSON'), undefined);
      }
      if (repeated !== undefined) return done(bodyProblem(repeated, 'is given more than once'), undefined);
      done(null, value);
    });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('preValidation', refuseUnsafeRequest);
  app.addSchema(ProblemSchema);
  installErrorHandling(app);
  installSecurityHeaders(app);
  installMetrics(app, deps);
  // Before any route: the limits run ahead of authentication (src/http/rate-limits.ts).
  await installRateLimits(app, {
    perMinute: deps.config.rateLimitPerMinute,
    authFailuresPerMinute: deps.config.authFailuresPerMinute,
    store: deps.rateLimitStore,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Brevet',
        version: '1',
        description: 'Just-in-time, time-boxed access to AWS IAM roles, with approvals and a tamper-evident audit trail.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'OIDC JWT or Brevet API key' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // Servers, the license, a description for every response and an example for every body.
    transformObject: (documents) => ('openapiObject' in documents ? polishOpenApi(documents.openapiObject as Record<string, unknown>, { publicUrl: deps.config.publicUrl }) : documents.swaggerObject),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());

  await app.register(healthRoutes(deps));
  const { signingSecret, teamId, appId } = deps.config.slack;
  // Without a signing secret nothing Slack sends can be verified: no routes (SPEC §3 rule 8).
  if (signingSecret !== undefined) {
    const roles = { adminGroups: deps.config.adminGroups, auditorGroups: deps.config.auditorGroups };
    await app.register(slackRoutes({ ...deps, slack: deps.slack ?? slackWithoutToken, roles }, { signingSecret, teamId, appId }));
  }
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', async (request) => {
        // Behind a trusted proxy request.ip comes from X-Forwarded-For; anything but an address is no address.
        const sourceIp = isIP(request.ip) === 0 ? null : request.ip;
        request.routeOptions.config.readAhead?.(request);
        request.caller = await deps.authenticator.authenticate(request.headers.authorization, sourceIp);
      });
      await v1.register(meRoutes(deps));
      await v1.register(principalRoutes(deps));
      await v1.register(profileRoutes(deps));
      await v1.register(requestRoutes(deps));
      await v1.register(evidenceRoutes(deps));
      await v1.register(credentialRoutes(deps));
      await v1.register(auditRoutes(deps));
    },
    { prefix: '/v1' },
  );
  return app;
}

/** Fastify takes a hop count as a function of the hop index. */
function trustProxyOption(value: Deps['config']['trustProxy']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}
