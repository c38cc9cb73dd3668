import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call as Slack would have received it. */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  token: string | undefined;
}

/** A message as Slack shows it now: the last post or applied update of its channel and ts. */
export interface SlackMessage {
  text: unknown;
  blocks: unknown;
}

/** A call Slack has received and not yet answered (see `hold`). */
export interface HeldCall {
  method: string;
  args: Record<string, unknown>;
  /** Lets Slack apply and answer this call now. */
  release(): void;
}

export type SlackFault = { kind: 'http-500' } | { kind: 'ratelimited' } | { kind: 'error'; error: string };

export interface SlackStandIn {
  /** Base URL for SLACK_API_URL (ends with /api/). */
  url: string;
  calls: SlackCall[];
  /** Slack users known to users.info: id → e-mail (a full member with a confirmed e-mail). */
  users: Map<string, string>;
  /** Overrides of users.info flags per user id, e.g. { is_restricted: true } for a guest. */
  userFlags: Map<string, Record<string, unknown>>;
  failNext(...faults: SlackFault[]): void;
  callsTo(method: string): SlackCall[];
  /** What the message `channel`/`ts` shows now, as applied in the order Slack applied calls. */
  message(channel: string, ts: string): SlackMessage | undefined;
  /** Slack turns slow: calls to these methods are received but neither applied nor answered until released. */
  hold(...methods: string[]): void;
  /** The calls waiting now, oldest first. */
  held(): HeldCall[];
  /** Stops holding and lets every waiting call through, oldest first. */
  releaseAll(): void;
  close(): Promise<void>;
}

/**
 * A local stand-in for the Slack Web API: `POST /api/<method>` with form or JSON arguments,
 * answers shaped like Slack's (`{ ok: true, … }` or `{ ok: false, error }`), every call recorded.
 */
export async function startSlackStandIn(): Promise<SlackStandIn> {
  const calls: SlackCall[] = [];
  const users = new Map<string, string>();
  const userFlags = new Map<string, Record<string, unknown>>();
  const faults: SlackFault[] = [];
  const messages = new Map<string, SlackMessage>();
  const holding = new Set<string>();
  const waiting: HeldCall[] = [];
  let ts = 1_700_000_000;

  const server = createServer(async (req, res) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const args = await readArgs(req);
    calls.push({ method, args, token: req.headers.authorization?.replace(/^Bearer /, '') });
    if (holding.has(method)) {
      await new Promise<void>((resolve) => {
        const call: HeldCall = { method, args, release: () => (waiting.splice(waiting.indexOf(call), 1), resolve()) };
        waiting.push(call);
      });
    }
    const send = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const fault = faults.shift();
    if (fault?.kind === 'http-500') return send(500, { ok: false, error: 'internal_error' });
    if (fault?.kind === 'ratelimited') return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
    if (fault?.kind === 'error') return send(200, { ok: false, error: fault.error });
    switch (method) {
      case 'chat.postMessage':
        ts += 1;
        if (args['thread_ts'] === undefined) messages.set(`${String(args['channel'])}/${ts}.000100`, { text: args['text'], blocks: args['blocks'] });
        return send(200, { ok: true, channel: args['channel'], ts: `${ts}.000100`, message: { text: args['text'] } });
      case 'chat.update':
        messages.set(`${String(args['channel'])}/${String(args['ts'])}`, { text: args['text'], blocks: args['blocks'] });
        return send(200, { ok: true, channel: args['channel'], ts: args['ts'] });
      case 'chat.postEphemeral':
        return send(200, { ok: true, message_ts: `${ts}.000200` });
      case 'conversations.open':
        return send(200, { ok: true, channel: { id: `D${String(args['users']).slice(1)}` } });
      case 'users.info': {
        const email = users.get(String(args['user']));
        return email === undefined ? send(200, { ok: false, error: 'user_not_found' }) : send(200, {
              ok: true,
              user: { id: args['user'], is_email_confirmed: true, is_bot: false, is_restricted: false, ...userFlags.get(String(args['user'])), profile: { email } },
            });
      }
      default:
        return send(200, { ok: false, error: 'unknown_method' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    users,
    userFlags,
    failNext: (...next) => faults.push(...next),
    callsTo: (method) => calls.filter((call) => call.method === method),
    message: (channel, messageTs) => messages.get(`${channel}/${messageTs}`),
    hold: (...methods) => methods.forEach((method) => holding.add(method)),
    held: () => [...waiting],
    releaseAll() {
      holding.clear();
      for (const call of [...waiting]) call.release();
    },
    close: () =>
      new Promise<void>((resolve) => {
        holding.clear();
        for (const call of [...waiting]) call.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readArgs(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (String(req.headers['content-type']).includes('json')) return raw === '' ? {} : (JSON.parse(raw) as Record<string, unknown>);
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    // The SDK sends arrays and objects (blocks) as JSON strings in form fields.
    args[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
  }
  return args;
}

export const randomSlackId = (prefix: 'U' | 'C') => `${prefix}${randomBytes(5).toString('hex').toUpperCase()}`;
