import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { API_NODE_FLAGS } from '../../src/lib/memory-flags.js';
import { BENCH_REDIS_URL } from './services.js';
import { freePort, startProcess, type BenchProcess } from './processes.js';

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/BenchAdmin';

/** A Brevet API process as production runs it (compiled, its node flags, PostgreSQL, Redis), limits off so load is not refused. */
export async function startBrevet(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = API_NODE_FLAGS,
): Promise<{ api: BenchProcess; adminKey: string }> {
  const adminKey = `brv_bench_${randomBytes(24).toString('hex')}`;
  const api = await startProcess(
    'dist/server.js',
    {
      DATABASE_URL: databaseUrl,
      REDIS_URL: BENCH_REDIS_URL,
      BREVET_BOOTSTRAP_ADMIN_KEY: adminKey,
      BREVET_RATE_LIMIT_PER_MINUTE: '0',
      BREVET_AUTH_FAILURES_PER_MINUTE: '0',
      ...env,
    },
    await freePort(),
    nodeArgs,
  );
  return { api, adminKey };
}

export function startWorker(databaseUrl: string, env: Record<string, string> = {}): Promise<BenchProcess> {
  return startProcess('dist/worker.js', { DATABASE_URL: databaseUrl, REDIS_URL: BENCH_REDIS_URL, BREVET_MIGRATE_ON_START: 'false', ...env });
}

/**
 * One keep-alive connection per API for the benchmark's calls. node:http rather than fetch: on
 * this machine fetch (undici's WHATWG streams) adds ~0.45 ms to the median of a loopback call and
 * ~1.5 ms to its p99 (measured against a route that only answers), time spent in the benchmark's
 * own client that the latency suite would otherwise count as Brevet's.
 */
const agents = new Map<string, http.Agent>();
function agentFor(url: string): http.Agent {
  let agent = agents.get(url);
  if (agent === undefined) agents.set(url, (agent = new http.Agent({ keepAlive: true })));
  return agent;
}

/** A small client of the public API for setting up and driving a benchmark. */
export class BrevetClient {
  constructor(
    readonly url: string,
    private readonly key: string,
  ) {}

  as(key: string): BrevetClient {
    return new BrevetClient(this.url, key);
  }

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, expected = [200, 201]): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = http.request(
        `${this.url}${path}`,
        {
          method,
          agent: agentFor(this.url),
          headers: {
            authorization: `Bearer ${this.key}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
    if (!expected.includes(status)) throw new Error(`${method} ${path} answered ${status}: ${text}`);
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /** A person with an API key of their own. */
  async person(name: string, groups: string[]): Promise<{ id: string; key: string }> {
    const created = await this.call<{ id: string }>('POST', '/v1/principals', {
      kind: 'person',
      email: `${name}-${randomBytes(3).toString('hex')}@bench.example`,
      displayName: name,
      groups,
    });
    const key = await this.call<{ key: string }>('POST', `/v1/principals/${created.id}/api-keys`, { name: 'bench' });
    return { id: created.id, key: key.key };
  }

  profile(name: string, approval: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ id: string }> {
    return this.call('POST', '/v1/profiles', {
      name,
      roleArn: ROLE_ARN,
      maxDurationSeconds: 3600,
      defaultDurationSeconds: 900,
      requesters: { groups: ['bench-dev'] },
      approval,
      ...extra,
    });
  }
}
