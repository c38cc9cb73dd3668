import { flag, parse, text } from '../args.js';
import { connect, unwrap } from '../client.js';
import { writeStoredConfig } from '../config-file.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';
import { configPath } from '../settings.js';

/** `brevet login --url URL --token KEY`: checks the token with GET /v1/me, then saves both (0600). */
export async function login(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { url: { type: 'string' }, token: { type: 'string' } }, { min: 0, max: 0, names: '' });
  const url = (text(args, 'url') ?? ctx.env['BREVET_URL'])?.replace(/\/+$/, '');
  const token = text(args, 'token') ?? ctx.env['BREVET_TOKEN'];
  if (url === undefined || token === undefined) throw usage('brevet login needs --url URL and --token KEY');
  const me = await unwrap(url, connect({ url, token }).GET('/v1/me'));
  const path = configPath(ctx.env);
  writeStoredConfig(path, { url, token });
  if (flag(args, 'json')) ctx.json(me);
  ctx.say(`logged in to ${url} as ${me.email ?? me.displayName} (saved to ${path})`);
}

export async function whoami(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, {}, { min: 0, max: 0, names: '' });
  const me = await unwrap(ctx.connection().url, ctx.api().GET('/v1/me'));
  if (flag(args, 'json')) return ctx.json(me);
  const roles = [me.roles.admin ? 'admin' : undefined, me.roles.auditor ? 'auditor' : undefined].filter(Boolean);
  ctx.out(`${me.email ?? me.displayName} (${me.id}, ${me.kind})`);
  ctx.out(`  groups  ${me.groups.join(', ') || '-'}${roles.length > 0 ? `\n  roles   ${roles.join(', ')}` : ''}`);
  ctx.out(`  server  ${ctx.connection().url}`);
}

export async function profiles(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, {}, { min: 0, max: 0, names: '' });
  const list = await unwrap(ctx.connection().url, ctx.api().GET('/v1/profiles'));
  if (flag(args, 'json')) return ctx.json(list);
  if (list.items.length === 0) return ctx.say('no profiles you may ask for');
  for (const profile of list.items) {
    const approvals = profile.approval.required === 0 ? 'auto-approved' : `${profile.approval.required} approval${profile.approval.required === 1 ? '' : 's'}`;
    ctx.out(`${profile.name.padEnd(20)}  ${approvals.padEnd(14)}  max ${profile.maxDurationSeconds}s  ${profile.description}`.trimEnd());
  }
}
