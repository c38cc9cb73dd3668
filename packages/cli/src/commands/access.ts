import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { flag, parse, text } from '../args.js';
import { profileSection, upsertConfigKey } from '../aws-config.js';
import { cacheFile, writeCache, type ProcessCredentials } from '../cache.js';
import { unwrap } from '../client.js';
import type { Context } from '../context.js';
import { CliError, EXIT, usage } from '../errors.js';
import { cacheDir } from '../settings.js';

const FORMATS = ['env', 'json', 'credential_process'] as const;
type Format = (typeof FORMATS)[number];

/** `brevet credentials <id> [--format env|json|credential_process]`: one issuance, printed on stdout. */
export async function credentials(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { format: { type: 'string' } }, { min: 1, max: 1, names: '<id>' });
  const format = (text(args, 'format') ?? (flag(args, 'json') ? 'json' : 'env')) as Format;
  if (!FORMATS.includes(format)) throw usage(`--format must be one of ${FORMATS.join(', ')}`);
  const id = args.positionals[0]!;
  const { url } = ctx.connection();
  if (format === 'env') {
    const env = await unwrap(url, ctx.api().POST('/v1/requests/{id}/credentials', { params: { path: { id } }, body: { format }, parseAs: 'text' }));
    ctx.stdout.write(String(env));
    return;
  }
  const issued = await unwrap(url, ctx.api().POST('/v1/requests/{id}/credentials', { params: { path: { id } }, body: { format } }));
  ctx.json(issued);
}

/** `brevet console <id> [--open]`: a federation sign-in URL, opened in the browser with --open. */
export async function consoleUrl(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { open: { type: 'boolean' } }, { min: 1, max: 1, names: '<id>' });
  const signIn = await unwrap(ctx.connection().url, ctx.api().POST('/v1/requests/{id}/console', { params: { path: { id: args.positionals[0]! } }, body: {} }));
  if (flag(args, 'json')) ctx.json(signIn);
  else ctx.out(signIn.url);
  if (flag(args, 'open')) {
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
    spawn(opener, [signIn.url], { stdio: 'ignore', detached: true })
      .on('error', () => ctx.say(`could not start ${opener}: open the URL above yourself`))
      .unref();
  }
}

/**
 * `brevet credential-process --profile P` on a cache miss (warm.ts serves hits): one call finds the
 * caller's newest active request of P, one issues credentials; they are cached and printed. Stdout
 * carries the JSON document and nothing else, ever: the AWS SDK parses it.
 */
export async function credentialProcess(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { profile: { type: 'string' } }, { min: 0, max: 0, names: '' });
  const profile = text(args, 'profile');
  if (profile === undefined || profile === '') throw usage('brevet credential-process needs --profile <name>');
  const connection = ctx.connection();
  const api = ctx.api();
  const found = await unwrap(
    connection.url,
    // SPEC §10's one call, as written (the schema types `limit` as required for its default of 50);
    // the newest active request comes first.
    api.GET('/v1/requests', { params: { query: { mine: true, status: 'active', profile } as { mine: true; status: 'active'; profile: string; limit: number } } }),
  );
  const active = found.items[0];
  // SPEC §10's words exactly: the AWS CLI and SDKs show this line to whoever ran the AWS command.
  if (active === undefined) throw new CliError(`no active Brevet access to ${profile}: run "brevet request ${profile} --wait"`, EXIT.error, undefined, true);
  const issued = (await unwrap(
    connection.url,
    api.POST('/v1/requests/{id}/credentials', { params: { path: { id: active.id } }, body: { format: 'credential_process' } }),
  )) as ProcessCredentials;
  const dir = cacheDir(ctx.env);
  writeCache(dir, cacheFile(dir, connection, profile), { requestId: active.id, credentials: issued });
  ctx.stdout.write(`${JSON.stringify(issued)}\n`);
}

const PROFILE_NAME = /^[A-Za-z0-9_.+-]{1,64}$/;

/** `brevet configure-aws <profile> [--aws-profile NAME]`: the AWS config section that runs credential-process. */
export async function configureAws(ctx: Context, argv: string[]): Promise<void> {
  const args = parse(argv, { 'aws-profile': { type: 'string' } }, { min: 1, max: 1, names: '<profile>' });
  const profile = args.positionals[0]!;
  const awsProfile = text(args, 'aws-profile') ?? `brevet-${profile}`;
  for (const name of [profile, awsProfile]) if (!PROFILE_NAME.test(name)) throw usage(`"${name}" is not a profile name this command can write safely`);
  const file = ctx.env['AWS_CONFIG_FILE']?.trim() || join(homedir(), '.aws', 'config');
  let before = '';
  try {
    before = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const command = `${executable()} credential-process --profile ${profile}`;
  const after = upsertConfigKey(before, profileSection(awsProfile), 'credential_process', command);
  if (after !== before) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, after);
  }
  if (flag(args, 'json')) return ctx.json({ file, section: profileSection(awsProfile), credentialProcess: command, changed: after !== before });
  ctx.say(`${after === before ? 'already set' : 'wrote'} [${profileSection(awsProfile)}] in ${file}`);
  ctx.say(`try: aws sts get-caller-identity --profile ${awsProfile}`);
}

/** The absolute path of this executable (quoted when it needs to be), so the AWS CLI finds it without PATH. */
function executable(): string {
  const script = process.argv[1];
  const path = script === undefined ? 'brevet' : realpathSync(script);
  return /^[\w./-]+$/.test(path) ? path : `"${path.replace(/(["\\$`])/g, '\\$1')}"`;
}
