import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SessionCredentials } from '../adapters/aws/sts.js';
import type { Deps } from '../deps.js';
import { IdParams, errorResponses } from '../http/schemas.js';
import { consoleSignInUrl, issueSession } from './issue-session.js';

const tags = ['credentials'];

const CredentialsBody = Type.Object(
  { format: Type.Union([Type.Literal('json'), Type.Literal('credential_process'), Type.Literal('env')], { default: 'json' }) },
  { additionalProperties: false, examples: [{ format: 'credential_process' }] },
);

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

/** Single quotes: the shell takes the value literally, whatever it contains. */
const shellQuote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

function envLines(c: SessionCredentials): string {
  return [
    `export AWS_ACCESS_KEY_ID=${shellQuote(c.accessKeyId)}`,
    `export AWS_SECRET_ACCESS_KEY=${shellQuote(c.secretAccessKey)}`,
    `export AWS_SESSION_TOKEN=${shellQuote(c.sessionToken)}`,
    `export AWS_CREDENTIAL_EXPIRATION=${shellQuote(c.expiration.toISOString())}`,
    `export AWS_REGION=${shellQuote(c.region)}`,
    '',
  ].join('\n');
}

export function credentialRoutes(deps: Pick<Deps, 'db' | 'clock' | 'sts' | 'consoleSignIn'>): FastifyPluginAsync {
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
      },
      async (request, reply) => {
        const format = request.body.format;
        const c = await issueSession(deps, request.caller, request.params.id, 'credentials', format);
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
          response: { 200: ConsoleUrl, ...errorResponses(409, 502) },
        },
      },
      async (request, reply) => {
        const signIn = await consoleSignInUrl(deps, request.caller, request.params.id);
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return reply.send({ url: signIn.url, expiration: signIn.expiration.toISOString() });
      },
    );
  };
}
