// The HTTP client: typed from openapi/openapi.json (src/api.d.ts, `npm run generate`), so an API
// change that breaks the CLI breaks its compilation.
import createClient from 'openapi-fetch';
import type { components, paths } from './api.js';
import { CliError, EXIT } from './errors.js';
import type { Connection } from './settings.js';

export type Api = ReturnType<typeof createClient<paths>>;
export type RequestView = components['schemas']['Request'];
export type Problem = components['schemas']['Problem'];

export function connect(connection: Connection): Api {
  return createClient<paths>({
    baseUrl: connection.url,
    headers: { authorization: `Bearer ${connection.token}`, 'user-agent': 'brevet-cli' },
  });
}

/**
 * The data of an answer, or the CliError for its problem: title and detail, exit 5 for 401 (with
 * the login hint), and a hint where the next step is obvious. Network failures name the server.
 */
export async function unwrap<T>(url: string, call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw unreachable(url, error);
  }
  if (result.response.ok && result.data !== undefined) return result.data;
  throw problemError(result.response.status, result.error);
}

export function problemError(status: number, body: unknown): CliError {
  const problem = isProblem(body) ? body : undefined;
  const text = problem === undefined ? `HTTP ${status}` : `${problem.title}: ${problem.detail}`;
  if (status === 401) return new CliError(text, EXIT.unauthenticated, 'brevet login --url URL --token KEY (or set BREVET_URL and BREVET_TOKEN)');
  return new CliError(text, EXIT.error, problem === undefined ? undefined : hintFor(problem));
}

function hintFor(problem: Problem): string | undefined {
  switch (problem.type) {
    case 'not-eligible':
      return 'brevet profiles lists the profiles you may ask for';
    case 'window-too-short':
      return 'ask for a new window: brevet request PROFILE --wait';
    case 'invalid-transition':
      return 'brevet status ID shows where the request stands';
    case 'rate-limited':
      return 'wait a minute and retry';
    default:
      return undefined;
  }
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).title === 'string' && typeof (body as Problem).detail === 'string';
}

export function unreachable(url: string, error: unknown): CliError {
  const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
  return new CliError(`cannot reach Brevet at ${url}: ${cause}`, EXIT.error, 'is the server running (npm start) and BREVET_URL right?');
}
