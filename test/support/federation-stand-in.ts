// A local stand-in for the AWS federation endpoint (https://signin.aws.amazon.com/federation):
// `GET ?Action=getSigninToken&Session=<JSON>[&SessionDuration=900..43200]` answers
// `{"SigninToken":"…"}`, as AWS documents (IAM User Guide, "Enable custom identity broker access
// to the AWS console"); a SessionDuration outside 900..43200 is refused.
// Tests point BREVET_FEDERATION_URL at it and read the sessions it received.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The Session parameter of getSigninToken: the role credentials, under AWS's own key names. */
export interface FederationSession {
  sessionId: string;
  sessionKey: string;
  sessionToken: string;
}

export interface FederationStandIn {
  /** http://127.0.0.1:PORT/federation — the value for BREVET_FEDERATION_URL. */
  url: string;
  /** Every session exchanged for a token, in order (parsed; raw text when it was not JSON). */
  sessions: (FederationSession | string)[];
  /** The SessionDuration of each exchange, in the same order (undefined when none was sent). */
  sessionDurations: (number | undefined)[];
  /** Every sign-in token handed out, so tests can search for leaks. */
  tokens: string[];
  /** The next N exchanges answer with this HTTP status and no token. */
  failNext(...statuses: number[]): void;
  close(): Promise<void>;
}

export async function startFederationStandIn(): Promise<FederationStandIn> {
  const failures: number[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const session = url.searchParams.get('Session');
    if (req.method !== 'GET' || url.pathname !== '/federation' || url.searchParams.get('Action') !== 'getSigninToken' || session === null) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('unsupported federation call');
      return;
    }
    stand.sessions.push(parseSession(session));
    const duration = url.searchParams.get('SessionDuration');
    stand.sessionDurations.push(duration === null ? undefined : Number(duration));
    if (duration !== null && !(/^\d+$/.test(duration) && Number(duration) >= 900 && Number(duration) <= 43_200)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Invalid SessionDuration');
      return;
    }
    const failure = failures.shift();
    if (failure !== undefined) {
      res.writeHead(failure, { 'content-type': 'text/plain' }).end('failure');
      return;
    }
    const token = `SigninToken-${randomBytes(48).toString('base64url')}`;
    stand.tokens.push(token);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ SigninToken: token }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stand: FederationStandIn = {
    url: `http://127.0.0.1:${port}/federation`,
    sessions: [],
    sessionDurations: [],
    tokens: [],
    failNext: (...statuses) => void failures.push(...statuses),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
  return stand;
}

function parseSession(text: string): FederationSession | string {
  try {
    return JSON.parse(text) as FederationSession;
  } catch {
    return text;
  }
}
