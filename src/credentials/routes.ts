import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SessionCredentials } from '../adapters/aws/sts.js';
import type { Deps } from '../deps.js';
import { IdParams, errorResponses } from '../http/schemas.js';
import { readAhead } from '../http/read-ahead.js';
import { consoleSignInUrl, issueCredentials, type IssueDeps } from './issue-session.js';
import { readIssuanceContext } from './repo.js';

const tags = ['credentials'];

const DEFAULT_FORMAT = 'json';

/** Optional as a whole: no body at all means the default format (see preValidation below). */
const CredentialsBody = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('credential_process'), Type.Literal('env')], { default: DEFAULT_FORMAT })) },
  { additionalProperties: false, examples: [{ format: 'credential_process' }], description: 'May be omitted (no body, no content type): `format` defaults to `json`.' },
);

/** The console takes no options today: an empty object, or no body at all; anything else is refused. */
const ConsoleBody = Type.Object({}, { additionalProperties: false, examples: [{}] });

const JsonCredentials = Type.Object({
  accessKeyId: Type.String(),
  secretAccessKey: Type.String(),
  sessionToken: Type.String(),
  expiration: Type.String({ format: 'date-time' }),
  region: Type.String(),
});

/** Exactly the AWS CLI `credential_process` output (Version 1). */
const CredentialProcess = Type.Object({
  Version: Type.Literal(1),
  AccessKeyId: Type.String(),
  SecretAccessKey: Type.String(),
  SessionToken: Type.String(),
  Expiration: Type.String({ format: 'date-time' }),
});

const ConsoleUrl = Type.Object({ url: Type.String(), expiration: Type.String({ format: 'date-time' }) });

/**
 * As SPEC §4.2 shows them (`export AWS_ACCESS_KEY_ID=…`): AWS key ids, secrets, tokens, regions
 * and timestamps only use characters a shell takes literally; anything else is single-quoted,
 * so the shell still takes the value as it is, whatever it contains.
 */
const shellValue = (value: string) => (/^[A-Za-z0-9/+=._:-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

function envLines(c: SessionCredentials): string {
  return [
    `export AWS_ACCESS_KEY_ID=${shellValue(c.accessKeyId)}`,
    `export AWS_SECRET_ACCESS_KEY=${shellValue(c.secretAccessKey)}`,
    `export AWS_SESSION_TOKEN=${shellValue(c.sessionToken)}`,
    `export AWS_CREDENTIAL_EXPIRATION=${shellValue(c.expiration.toISOString())}`,
    `export AWS_REGION=${shellValue(c.region)}`,
    // AWS CLI v1 and boto3 read only AWS_DEFAULT_REGION; v2 and the other SDKs read AWS_REGION.
    `export AWS_DEFAULT_REGION=${shellValue(c.region)}`,
    '',
  ].join('\n');
}

export function credentialRoutes(deps: Pick<Deps, 'db' | 'clock' | 'sts' | 'consoleSignIn' | 'config' | 'metrics'>): FastifyPluginAsync {
  const issueDeps: IssueDeps = { ...deps, roleChaining: deps.config.roleChaining };
  const issuanceContext = readAhead((id) => readIssuanceContext(deps.db, id));
  return async (plain) => {
    const app = plain.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/requests/:id/credentials',
      {
        schema: {
          operationId: 'issueCredentials',
          summary: 'STS credentials for an active request (requester); never valid past the window end',
          tags,
          params: IdParams,
          body: CredentialsBody,
          response: {
            200: {
              description: 'Credentials in the requested format',
              content: {
                'application/json': { schema: Type.Union([JsonCredentials, CredentialProcess]) },
                'text/plain': { schema: Type.String({ description: '`export AWS_…=` lines (format env)' }) },
              },
            },
            ...errorResponses(409, 502),
          },
        },
        config: { readAhead: issuanceContext.start },
        // `format` has a default, so no body at all (`curl -X POST`, no content type) means `{}`.
        preValidation: async (request) => {
          request.body ??= {} as typeof request.body;
        },
      },
      async (request, reply) => {
        const format = request.body.format ?? DEFAULT_FORMAT;
        const c = await issueCredentials(issueDeps, request.caller, request.params.id, format, issuanceContext.take(request));
        // Secrets: no cache may keep this answer (SPEC §3 rule 5).
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        if (format === 'env') return reply.type('text/plain; charset=utf-8').send(envLines(c));
        if (format === 'credential_process') {
          return reply.send({ Version: 1, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.expiration.toISOString() });
        }
        return reply.send({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken, expiration: c.expiration.toISOString(), region: c.region });
      },
    );

    app.post(
      '/requests/:id/console',
      {
        schema: {
          operationId: 'consoleSignIn',
          summary: 'An AWS console sign-in URL for an active request (requester)',
          tags,
          params: IdParams,
          body: ConsoleBody,
          response: { 200: ConsoleUrl, ...errorResponses(409, 502) },
        },
        config: { readAhead: issuanceContext.start },
        // No body at all (`curl -X POST`, no content type) means `{}`; a JSON `null` is still refused.
        preValidation: async (request) => {
          if (request.body === undefined) request.body = {};
        },
      },
      async (request, reply) => {
        const signIn = await consoleSignInUrl(issueDeps, request.caller, request.params.id, issuanceContext.take(request));
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return reply.send({ url: signIn.url, expiration: signIn.expiration.toISOString() });
      },
    );
  };
}
