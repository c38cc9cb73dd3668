import { flag, parse, text } from '../args.js';
import { unwrap, type RequestView } from '../client.js';
import type { Context } from '../context.js';
import { parseDuration } from '../duration.js';
import { usage } from '../errors.js';
import { requestDetails, requestLine } from '../output.js';
import { waitUntilActive } from '../wait.js';

const DEFAULT_TIMEOUT = '15m';

/** The justification of a request made without --reason. */
export const NO_REASON = 'no reason given (brevet request without --reason)';

/** `brevet request <profile> [--duration] [--reason] [--ticket] [--start] [--scope-actions] [--break-glass] [--wait [--timeout]]`. */
export async function request(ctx: Context, argv: string[]): Promise<void> {
  const startedAt = Date.now();
  const args = parse(
    argv,
    {
      duration: { type: 'string' },
      reason: { type: 'string' },
      ticket: { type: 'string' },
      start: { type: 'string' },
      'scope-actions': { type: 'string' },
      'break-glass': { type: 'boolean' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
    },
    { min: 1, max: 1, names: '<profile>' },
  );
  // SPEC §10 makes --reason optional (its own hint is `brevet request P --wait`) while the API
  // wants a justification: without one, the request says plainly that none was given, for the
  // approvers and the audit trail to see. Break-glass self-activates on its justification alone.
  const reason = text(args, 'reason');
  if (reason === undefined && flag(args, 'break-glass')) throw usage('--break-glass needs --reason: the access is granted on it alone (the approvers are alerted with it)');
  const duration = text(args, 'duration');
  const timeout = parseDuration(text(args, 'timeout') ?? DEFAULT_TIMEOUT, '--timeout');
  const actions = text(args, 'scope-actions')?.split(',').map((action) => action.trim()).filter((action) => action !== '');
  const start = text(args, 'start');
  if (start !== undefined && Number.isNaN(Date.parse(start))) throw usage(`--start: "${start}" is not an ISO-8601 time`);
  const created = await unwrap(
    ctx.connection().url,
    ctx.api().POST('/v1/requests', {
      body: {
        profile: args.positionals[0]!,
        justification: reason ?? NO_REASON,
        ...(duration === undefined ? {} : { durationSeconds: parseDuration(duration, '--duration') }),
        ...(text(args, 'ticket') === undefined ? {} : { ticket: text(args, 'ticket') }),
        ...(start === undefined ? {} : { startsAt: new Date(start).toISOString() }),
        // Actions only: on whatever the profile's session policy allows them on.
        ...(actions === undefined || actions.length === 0 ? {} : { scope: { actions } }),
        ...(flag(args, 'break-glass') ? { breakGlass: true } : {}),
      },
    }),
  );
  if (!flag(args, 'wait')) {
    if (flag(args, 'json')) return ctx.json(created);
    ctx.out(requestDetails(created));
    if (created.status === 'active') return ctx.say(nextSteps(created));
    return ctx.say(`follow it: brevet status ${created.id} (or ask again with --wait)`);
  }
  const active = await waitUntilActive(ctx, created, startedAt + timeout * 1000, flag(args, 'json'));
  if (flag(args, 'json')) return ctx.json(active);
  ctx.out(requestLine(active));
  ctx.say(nextSteps(active));
}

function nextSteps(active: RequestView): string {
  return `active until ${active.endsAt}. Use it: brevet configure-aws ${active.profileName} (then --profile brevet-${active.profileName}), or brevet credentials ${active.id}`;
}

export async function status(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, {}, { min: 1, max: 1, names: '<id>' });
  const found = await unwrap(ctx.connection().url, ctx.api().GET('/v1/requests/{id}', { params: { path: { id: args.positionals[0]! } } }));
  if (flag(args, 'json')) return ctx.json(found);
  ctx.out(requestDetails(found));
}

export async function list(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(
    argv,
    { mine: { type: 'boolean' }, reviewable: { type: 'boolean' }, status: { type: 'string' }, quiet: { type: 'boolean', short: 'q' } },
    { min: 0, max: 0, names: '' },
  );
  if (flag(args, 'mine') && flag(args, 'reviewable')) throw usage('brevet ls takes --mine or --reviewable, not both');
  const statusFilter = text(args, 'status') as RequestView['status'] | undefined;
  const query = {
    ...(flag(args, 'mine') ? { mine: true } : {}),
    ...(flag(args, 'reviewable') ? { reviewable: true } : {}),
    ...(statusFilter === undefined ? {} : { status: statusFilter }),
    limit: 100,
  };
  const page = await unwrap(ctx.connection().url, ctx.api().GET('/v1/requests', { params: { query } }));
  if (flag(args, 'json')) return ctx.json(page);
  // -q: the ids alone, one a line, for $(…) in scripts.
  if (flag(args, 'quiet')) return page.items.forEach((item) => ctx.out(item.id));
  if (page.items.length === 0) return ctx.say('no requests');
  for (const item of page.items) ctx.out(requestLine(item));
  if (page.nextCursor !== null) ctx.say('(the newest 100; narrow with --status, --mine or --reviewable)');
}

function reviewCommand(decision: 'approve' | 'deny') {
  return async (ctx: Context, argv: string[]): Promise<void> => {
    const args = parse(argv, { comment: { type: 'string' } }, { min: 1, max: 1, names: '<id>' });
    const comment = text(args, 'comment');
    const reviewed = await unwrap(
      ctx.connection().url,
      ctx.api().POST('/v1/requests/{id}/reviews', {
        params: { path: { id: args.positionals[0]! } },
        body: comment === undefined ? { decision } : { decision, comment },
      }),
    );
    if (flag(args, 'json')) return ctx.json(reviewed);
    ctx.out(requestLine(reviewed));
  };
}

export const approve = reviewCommand('approve');
export const deny = reviewCommand('deny');

export async function cancel(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, {}, { min: 1, max: 1, names: '<id>' });
  const cancelled = await unwrap(ctx.connection().url, ctx.api().POST('/v1/requests/{id}/cancel', { params: { path: { id: args.positionals[0]! } }, body: {} }));
  if (flag(args, 'json')) return ctx.json(cancelled);
  ctx.out(requestLine(cancelled));
}

export async function revoke(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { reason: { type: 'string' } }, { min: 1, max: 1, names: '<id>' });
  const revoked = await unwrap(
    ctx.connection().url,
    ctx.api().POST('/v1/requests/{id}/revoke', {
      params: { path: { id: args.positionals[0]! } },
      body: { reason: text(args, 'reason') ?? 'revoked with brevet revoke' },
    }),
  );
  if (flag(args, 'json')) return ctx.json(revoked);
  ctx.out(requestLine(revoked));
}

/**
 * `brevet extend <id> --reason TEXT [--duration 1h]` (SPEC §12): more time on an active grant, as
 * its requester; the extension is reviewed like a request, or approved at once when the profile says so.
 */
export async function extend(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { duration: { type: 'string' }, reason: { type: 'string' } }, { min: 1, max: 1, names: '<id>' });
  const reason = text(args, 'reason');
  if (reason === undefined) throw usage('--reason is required: say why the work needs more time (approvers and the audit trail read it)');
  const parentId = args.positionals[0]!;
  const extension = await unwrap(
    ctx.connection().url,
    ctx.api().POST('/v1/requests/{id}/extend', {
      params: { path: { id: parentId } },
      body: { durationSeconds: parseDuration(text(args, 'duration') ?? '1h', '--duration'), justification: reason },
    }),
  );
  if (flag(args, 'json')) return ctx.json(extension);
  ctx.out(requestLine(extension));
  // Approved at once, an extension is already `ended`: its end is the grant's new end.
  if (extension.status === 'pending') return ctx.say(`waiting for approval; the access still ends at ${extension.startsAt}. Follow it: brevet status ${extension.id}`);
  if (extension.status === 'ended') return ctx.say(`extended: ${parentId} now ends at ${extension.endsAt}`);
}
