import { flag, parse, text } from '../args.js';
import { unwrap, type Api } from '../client.js';
import type { components } from '../api.js';
import type { Context } from '../context.js';
import { parseDuration } from '../duration.js';
import { CliError, EXIT, usage } from '../errors.js';
import { verifyExport } from '../offline-verify.js';

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

/**
 * `brevet audit verify`: the server's integrity check; with `--export FILE --checkpoints DIR
 * --public-key FILE`, the offline one (SPEC §11). Exit 1 when it does not hold.
 */
async function verify(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(
    argv,
    { export: { type: 'string' }, checkpoints: { type: 'string' }, 'public-key': { type: 'string' }, 'exported-at': { type: 'string' } },
    { min: 0, max: 0, names: '' },
  );
  const offline = ['export', 'checkpoints', 'public-key'].filter((name) => text(args, name) !== undefined);
  if (offline.length > 0) {
    if (offline.length < 3) throw usage('offline verification needs --export FILE, --checkpoints DIR and --public-key FILE');
    const exportedAt = text(args, 'exported-at');
    return verifyOffline(
      ctx,
      {
        exportFile: text(args, 'export')!,
        checkpointDir: text(args, 'checkpoints')!,
        publicKeyFile: text(args, 'public-key')!,
        ...(exportedAt === undefined ? {} : { exportedAt: instant(exportedAt) }),
      },
      flag(args, 'json'),
    );
  }
  if (text(args, 'exported-at') !== undefined) throw usage('--exported-at goes with an offline verification (--export FILE --checkpoints DIR --public-key FILE)');
  const result = await unwrap(ctx.connection().url, ctx.api().GET('/v1/audit/verify'));
  if (flag(args, 'json')) ctx.json(result);
  else ctx.out(result.ok ? `audit trail intact: ${result.checked} events checked, ${result.blocks} blocks, ${result.unsealed} unsealed, ${result.unsigned} unsigned` : `audit trail BROKEN: ${result.problem ?? `at event ${result.firstBrokenId}`}`);
  if (!result.ok) throw new CliError(`the audit trail does not verify: ${result.problem ?? `first broken event ${result.firstBrokenId}`}`, EXIT.error);
}

/** An ISO 8601 time with its offset (2026-12-03T17:00:00Z): a time without one would depend on this machine's zone. */
function instant(value: string): Date {
  const at = new Date(value);
  if (!/(?:Z|[+-]\d\d:?\d\d)$/i.test(value) || Number.isNaN(at.getTime())) throw usage(`--exported-at takes an ISO 8601 time with its offset, e.g. 2026-12-03T17:00:00Z (got ${JSON.stringify(value)})`);
  return at;
}

async function verifyOffline(ctx: Context, input: { exportFile: string; checkpointDir: string; publicKeyFile: string; exportedAt?: Date }, json: boolean): Promise<void> {
  const { report, beyondExport } = await verifyExport(input, (warning) => ctx.say(warning));
  if (json) ctx.json({ ...report, beyondExport });
  else if (report.ok) {
    ctx.out(
      `audit trail intact: ${report.checked} events checked against ${report.blocks} signed checkpoints (sealed through event ${report.sealedThrough ?? '-'}), ` +
        `${report.unsealed} unsealed, ${report.unsigned} unsigned`,
    );
  }
  if (beyondExport > 0 && report.ok) ctx.say(`${beyondExport} checkpoints sealed after the export was taken: not checked (export again to check them)`);
  if (!report.ok) {
    const what = report.firstBrokenBlock === null ? `event ${report.firstBrokenId}` : `block ${report.firstBrokenBlock} (first event ${report.firstBrokenId})`;
    throw new CliError(`the audit trail does not verify: first broken ${what}: ${report.problem}`, EXIT.error);
  }
}
