import { flag, parse, text } from '../args.js';
import { unwrap, type Api } from '../client.js';
import type { components } from '../api.js';
import type { Context } from '../context.js';
import { parseDuration } from '../duration.js';
import { CliError, EXIT } from '../errors.js';

type AuditEvent = components['schemas']['AuditEvent'];

/** How often `--follow` asks for new events: the audit has no long-poll. */
const FOLLOW_EVERY_MS = 2_000;

/** `brevet audit [--request ID] [--action A] [--since 1h] [--follow]`, oldest first. */
export async function audit(ctx: Context, argv: string[]): Promise<void> {
  if (argv[0] === 'verify') return verify(ctx, argv.slice(1));
  const args = parse(
    argv,
    { request: { type: 'string' }, action: { type: 'string' }, since: { type: 'string' }, follow: { type: 'boolean' } },
    { min: 0, max: 0, names: '' },
  );
  const since = text(args, 'since');
  const filters = {
    ...(text(args, 'request') === undefined ? {} : { requestId: text(args, 'request') }),
    ...(text(args, 'action') === undefined ? {} : { action: text(args, 'action') }),
    ...(since === undefined ? {} : { from: new Date(Date.now() - parseDuration(since, '--since') * 1000).toISOString() }),
  };
  const { url } = ctx.connection();
  const api = ctx.api();
  const json = flag(args, 'json');
  let cursor: string | undefined;
  if (!flag(args, 'follow')) {
    const page = await fetchPage(url, api, filters, cursor);
    if (json) return ctx.json(page);
    for (const event of page.items) ctx.out(eventLine(event));
    if (page.nextCursor !== null) ctx.say('(more: narrow with --since, --request or --action)');
    return;
  }
  // Following: every event once, as one JSON object per line with --json (NDJSON), until interrupted.
  for (;;) {
    const page = await fetchPage(url, api, filters, cursor);
    for (const event of page.items) ctx.out(json ? JSON.stringify(event) : eventLine(event));
    cursor = page.items.at(-1)?.id ?? cursor;
    if (page.nextCursor === null) await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
  }
}

function fetchPage(url: string, api: Api, filters: Record<string, string | undefined>, cursor: string | undefined) {
  return unwrap(url, api.GET('/v1/audit', { params: { query: { ...filters, order: 'asc', limit: 500, ...(cursor === undefined ? {} : { cursor }) } } }));
}

function eventLine(event: AuditEvent): string {
  return `${event.occurredAt}  ${event.action.padEnd(20)}  ${event.actor.kind === 'system' ? 'system' : event.actor.id}  ${event.requestId ?? ''}`.trimEnd();
}

/** `brevet audit verify`: the server's integrity check; exit 1 when it does not hold. */
async function verify(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, {}, { min: 0, max: 0, names: '' });
  const result = await unwrap(ctx.connection().url, ctx.api().GET('/v1/audit/verify'));
  if (flag(args, 'json')) ctx.json(result);
  else ctx.out(result.ok ? `audit trail intact: ${result.checked} events checked` : `audit trail BROKEN at event ${result.firstBrokenId}`);
  if (!result.ok) throw new CliError(`the audit trail does not verify: first broken event ${result.firstBrokenId}`, EXIT.error);
}
