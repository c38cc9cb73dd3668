/** Exit codes of SPEC §10: scripts branch on them. */
export const EXIT = { ok: 0, error: 1, usage: 2, ended: 3, timeout: 4, unauthenticated: 5 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Every failure the CLI reports: a message (for an API problem, its title and detail), an optional
 * hint naming the next command, and the exit code. main.ts prints it; nothing prints a stack.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
    readonly hint?: string,
    /** Printed as it is, without the "brevet: " before it: a line SPEC words exactly. */
    readonly verbatim = false,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usage = (message: string) => new CliError(message, EXIT.usage, 'brevet --help lists the commands and their options');

export const notLoggedIn = () =>
  new CliError('not logged in: no BREVET_URL/BREVET_TOKEN in the environment and no config file', EXIT.unauthenticated, 'brevet login --url URL --token KEY');
