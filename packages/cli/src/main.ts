// `brevet`: every command of SPEC §10. Exit codes: 0 ok, 1 error, 2 usage, 3 request ended
// without access, 4 timeout, 5 not authenticated, 141 stdout closed by its reader. Errors print a problem's title and detail and,
// where there is an obvious next step, a hint; never a stack.
import { consoleUrl, configureAws, credentialProcess, credentials } from './commands/access.js';
import { audit } from './commands/audit.js';
import { approve, cancel, deny, extend, list, request, revoke, status } from './commands/requests.js';
import { login, profiles, whoami } from './commands/session.js';
import { createContext, type Context } from './context.js';
import { CliError, EXIT, usage } from './errors.js';

type Command = (ctx: Context, argv: string[]) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  login,
  whoami,
  profiles,
  request,
  status,
  ls: list,
  approve,
  deny,
  cancel,
  revoke,
  extend,
  credentials,
  console: consoleUrl,
  'credential-process': credentialProcess,
  'configure-aws': configureAws,
  audit,
};

const HELP = `brevet — just-in-time AWS access

  brevet login --url URL --token KEY        check the token and save both (~/.config/brevet/config.json, 0600)
  brevet whoami                             who the token is
  brevet profiles                           the profiles you may ask for
  brevet request <profile> [--reason TEXT] [--duration 30m|1h|1800] [--ticket T] [--start ISO]
                 [--scope-actions a,b] [--break-glass] [--wait [--timeout 15m]]
  brevet status <id>                        one request
  brevet ls [--mine|--reviewable] [--status S] [-q]   (-q: ids only)
  brevet approve <id> [--comment T]         brevet deny <id> [--comment T]
  brevet cancel <id>                        brevet revoke <id> [--reason T]
  brevet extend <id> --reason TEXT [--duration 1h]   more time on an active grant (default 1h)
  brevet credentials <id> [--format env|json|credential_process]
  brevet console <id> [--open]              an AWS console sign-in URL
  brevet credential-process --profile <name>   for credential_process in ~/.aws/config (cached)
  brevet configure-aws <profile> [--aws-profile NAME]   writes [profile brevet-<profile>] to ~/.aws/config
  brevet audit [--request ID] [--action A] [--since 1h] [--follow]
  brevet audit verify                       the server checks the trail
  brevet audit verify --export FILE --checkpoints DIR --public-key FILE [--exported-at TIME]
                                            offline, without the server (--exported-at: when the export
                                            was taken, by default its file's time; checkpoints sealed
                                            after it are not checked)

Every command takes --json (machine output on stdout; messages on stderr).
BREVET_URL and BREVET_TOKEN in the environment win over the saved login.
Exit codes: 0 ok, 1 error, 2 usage, 3 request ended without access, 4 timeout, 5 not authenticated,
141 stdout closed by its reader.
`;

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // A usage error: its message goes to stderr, as every message does (SPEC §10).
    process.stderr.write(HELP);
    return EXIT.usage;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw usage(`unknown command "${name}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  await command(createContext(), rest);
  return EXIT.ok;
}

function report(error: unknown): number {
  if (error instanceof CliError) {
    process.stderr.write(`${error.verbatim ? '' : 'brevet: '}${error.message}\n`);
    if (error.hint !== undefined) process.stderr.write(`hint: ${error.hint}\n`);
    return error.exitCode;
  }
  // A bug, not a user error: still no stack unless asked for.
  process.stderr.write(`brevet: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env['BREVET_DEBUG'] === '1' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  return EXIT.error;
}

// A reader that goes away (`brevet audit --follow | head -1`) ends the command quietly with
// 141, as SIGPIPE ends any Unix tool (128 + 13): no stack trace, and `set -o pipefail` scripts
// do not take a cut-off command for one that finished. Any other failure to write is a crash.
const CLOSED_PIPE = 141;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(CLOSED_PIPE);
});

// Exit once stdout has drained: a piped consumer (the AWS SDK) must get every byte.
const code = await run(process.argv.slice(2)).catch(report);
process.exitCode = code;
