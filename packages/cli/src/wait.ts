import { unwrap, type RequestView } from './client.js';
import type { Context } from './context.js';
import { CliError, EXIT } from './errors.js';
import { denyComment } from './output.js';

/** Statuses from which a request may still become active. */
const OPEN = new Set(['pending', 'approved']);
/** The API's longest long-poll (SPEC §10.1). */
const MAX_WAIT_SECONDS = 60;
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * Follows a request until it is active (returned) or ends without access (exit 3), or the deadline
 * passes (exit 4, the request left as it is). Each round is one long-poll of the API, so nothing
 * polls in a tight loop. A spinner on a terminal, one plain line per change otherwise.
 */
export async function waitUntilActive(ctx: Context, initial: RequestView, deadline: number, json: boolean): Promise<RequestView> {
  const progress = ctx.stderr.isTTY ? spinner(ctx) : lines(ctx);
  let current = initial;
  progress.show(current);
  try {
    while (OPEN.has(current.status)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        if (json) ctx.json(current);
        throw timedOut(current);
      }
      const waitSeconds = Math.max(1, Math.min(MAX_WAIT_SECONDS, Math.floor(left / 1000)));
      const next = await unwrap(
        ctx.connection().url,
        ctx.api().GET('/v1/requests/{id}', { params: { path: { id: current.id }, query: { waitSeconds, status: current.status } } }),
      );
      if (next.status !== current.status) progress.show(next);
      current = next;
    }
  } finally {
    progress.stop();
  }
  if (current.status === 'active') return current;
  // --json prints the final request whatever the outcome (SPEC §10).
  if (json) ctx.json(current);
  const comment = denyComment(current);
  throw new CliError(`request ${current.id} ${current.status}${comment === undefined ? '' : `: ${comment}`}`, EXIT.ended);
}

function timedOut(current: RequestView): CliError {
  return new CliError(`timed out waiting for request ${current.id}: it is still ${current.status} (left as it is)`, EXIT.timeout, `brevet status ${current.id}`);
}

interface Progress {
  show(request: RequestView): void;
  stop(): void;
}

function describe(request: RequestView): string {
  switch (request.status) {
    case 'pending':
      return `request ${request.id} pending: waiting for ${request.approvalsRequired} approval${request.approvalsRequired === 1 ? '' : 's'}`;
    case 'approved':
      return `request ${request.id} approved: starts at ${request.startsAt ?? 'its start'}`;
    default:
      return `request ${request.id} ${request.status}`;
  }
}

function lines(ctx: Context): Progress {
  return { show: (request) => ctx.say(describe(request)), stop: () => {} };
}

function spinner(ctx: Context): Progress {
  let text = '';
  let frame = 0;
  const started = Date.now();
  const draw = () => {
    frame = (frame + 1) % FRAMES.length;
    ctx.stderr.write(`\r\x1b[2K${FRAMES[frame]} ${text} (${Math.round((Date.now() - started) / 1000)}s)`);
  };
  const timer = setInterval(draw, 100);
  return {
    show(request) {
      text = describe(request);
      draw();
    },
    stop() {
      clearInterval(timer);
      ctx.stderr.write('\r\x1b[2K');
    },
  };
}
