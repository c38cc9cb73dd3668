import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Deps } from '../deps.js';
import { Problem } from '../http/problems.js';
import { refuseUnsafeText } from '../http/validation.js';
import { handleSlashCommand } from './commands.js';
import { fieldsRead, handleInteraction, type BlockActionsPayload, type SlackCommandDeps } from './interactions.js';
import { isSignedBySlack } from './signature.js';

/** Slack never sends more; anything larger is not Slack (SPEC §3 rule 7). */
const SLACK_BODY_LIMIT = 64 * 1024;
const FORM = 'application/x-www-form-urlencoded';

export interface SlackAppIdentity {
  signingSecret: string;
  /** SLACK_TEAM_ID / SLACK_APP_ID: when set, a signed call from another workspace or app is refused. */
  teamId: string | undefined;
  appId: string | undefined;
}

/**
 * Slack's two entry points. Order matters: transport checks, then the signature over the raw
 * body, then anything else — an unsigned request changes nothing and learns nothing.
 */
export function slackRoutes(deps: Pick<Deps, 'clock' | 'logger'> & SlackCommandDeps, slackApp: SlackAppIdentity): FastifyPluginAsync {
  const { signingSecret } = slackApp;
  /**
   * The signature proves the call comes from Slack for an app holding this secret; these say it is
   * this workspace and this app (one secret may serve an app installed in several workspaces).
   */
  const requireConfiguredOrigin = (teamId: unknown, appId: unknown) => {
    if ((slackApp.teamId !== undefined && teamId !== slackApp.teamId) || (slackApp.appId !== undefined && appId !== slackApp.appId)) {
      throw new Problem('forbidden', 'this Slack workspace or app is not the one this Brevet serves');
    }
  };

  return async (app) => {
    // Raw text, whatever the content type: the signature covers the exact bytes Slack sent, and is
    // checked before anything else about the body, so a wrong one is 401 for a JSON body too.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: SLACK_BODY_LIMIT }, (_request, body, done) => done(null, body));
    // SPEC §3 rule 8: a call without Slack's signature headers is 401 whatever it carries, before
    // its body is even read (a JSON or text body included; ssl_check included).
    app.addHook('onRequest', async (request) => {
      if (header(request, 'x-slack-signature') === undefined || header(request, 'x-slack-request-timestamp') === undefined) {
        throw new Problem('unauthenticated', 'missing Slack signature');
      }
    });

    const signedForm = (request: FastifyRequest): URLSearchParams => {
      const body = typeof request.body === 'string' ? request.body : '';
      const signed = isSignedBySlack(
        signingSecret,
        body,
        { signature: header(request, 'x-slack-signature'), timestamp: header(request, 'x-slack-request-timestamp') },
        deps.clock.now(),
      );
      if (!signed) throw new Problem('unauthenticated', 'missing, wrong or stale Slack signature');
      if (!String(request.headers['content-type'] ?? '').startsWith(FORM)) {
        throw new Problem('unsupported-media-type', 'Slack sends application/x-www-form-urlencoded');
      }
      const form = new URLSearchParams(body);
      // The same rules as any other input, once the form is decoded. The interaction payload is
      // JSON inside the form: the fields Brevet reads from it are checked where they are read.
      refuseUnsafeText(Object.fromEntries([...form].filter(([name]) => name !== 'payload')), '/body');
      return form;
    };

    const routeOptions = { bodyLimit: SLACK_BODY_LIMIT, schema: { hide: true } };

    app.post('/integrations/slack/interactions', routeOptions, async (request, reply) => {
      const form = signedForm(request);
      if (isSslCheck(form)) return reply.status(200).send();
      let payload: unknown;
      try {
        payload = JSON.parse(form.get('payload') ?? '');
      } catch {
        throw new Problem('validation', 'the payload field is not JSON', { errors: [{ field: '/body/payload', message: 'is not JSON' }] });
      }
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        throw new Problem('validation', 'the payload field is not a JSON object', { errors: [{ field: '/body/payload', message: 'is not a JSON object' }] });
      }
      const signed = payload as BlockActionsPayload & { team?: { id?: unknown } | null; api_app_id?: unknown };
      requireConfiguredOrigin(signed.team?.id, signed.api_app_id);
      refuseUnsafeText(fieldsRead(signed), '/body/payload');
      const outcome = await handleInteraction(deps, signed);
      // Acknowledge first (Slack waits 3 s at most); the private answer follows through the Web API.
      void reply.status(200).send();
      if (outcome.ephemeral !== undefined && outcome.channel !== undefined && outcome.user !== undefined) {
        deps.slack.postEphemeral(outcome.channel, outcome.user, outcome.ephemeral).catch((error: unknown) => {
          deps.logger.warn({ err: error }, 'could not answer the Slack user');
        });
      }
      return reply;
    });

    app.post('/integrations/slack/commands', routeOptions, async (request, reply) => {
      const form = signedForm(request);
      if (isSslCheck(form)) return reply.status(200).send();
      requireConfiguredOrigin(form.get('team_id') ?? undefined, form.get('api_app_id') ?? undefined);
      const user = form.get('user_id');
      if (user === null) throw new Problem('validation', 'user_id is missing', { errors: [{ field: '/body/user_id', message: 'is required' }] });
      const text = await handleSlashCommand(deps, user, form.get('text') ?? '');
      return reply.status(200).send({ response_type: 'ephemeral', text });
    });
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Slack's certificate check (signed like any call): answered, nothing done. */
function isSslCheck(form: URLSearchParams): boolean {
  return form.get('ssl_check') === '1';
}
