import { Writable } from 'node:stream';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { systemClock } from '../../src/adapters/clock.js';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { buildDeps, type Deps, type DepsOverrides } from '../../src/deps.js';
import { createLogger } from '../../src/logging.js';
import { ensureBootstrapAdmin } from '../../src/principals/bootstrap-admin.js';
import { TestClock } from './clock.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestApp {
  app: App;
  deps: Deps;
  clock: TestClock;
  database: TestDatabase;
  /** Every log line the app wrote, for tests that hunt for leaked secrets. */
  logs: string[];
  adminKey: string;
  http(): TestAgent;
  /** Creates a principal through the admin API and an API key for it. */
  principal(input: { email?: string; displayName?: string; groups?: string[]; kind?: 'person' | 'service' }): Promise<{
    id: string;
    key: string;
    email: string | null;
  }>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * The real app on a fresh PostgreSQL database of its own, with an injected clock and captured logs.
 * `realClock: true` runs the app on the system clock instead (tests of real timing); `t.clock`
 * is then not the app's clock. `database` runs it on a database the test prepared (it is dropped at close).
 */
export async function startTestApp(
  options: { env?: Record<string, string>; overrides?: DepsOverrides; realClock?: boolean; database?: TestDatabase; app?: AppOptions } = {},
): Promise<TestApp> {
  // A test may hand over a database it prepared (e.g. one with rows from an older schema).
  const database = options.database ?? (await createTestDatabase());
  const adminKey = `brv_test_admin_${'x'.repeat(20)}${Date.now()}`;
  // Tests fire hundreds of calls a minute from one address; the rate limits have their own tests.
  const config = loadConfig({
    DATABASE_URL: database.url,
    BREVET_BOOTSTRAP_ADMIN_KEY: adminKey,
    LOG_LEVEL: 'info',
    BREVET_RATE_LIMIT_PER_MINUTE: '0',
    BREVET_AUTH_FAILURES_PER_MINUTE: '0',
    ...options.env,
  });
  const clock = options.overrides?.clock instanceof TestClock ? options.overrides.clock : new TestClock();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('trace', sink);
  const deps = buildDeps(config, logger, { ...options.overrides, clock: options.realClock === true ? systemClock : clock });
  await deps.database.migrate();
  await ensureBootstrapAdmin(deps, { adminGroups: config.adminGroups, givenKey: adminKey, generate: false });
  const app = await buildApp(deps, options.app);
  await app.ready();

  const http = () => request(app.server);
  return {
    app,
    deps,
    clock,
    database,
    logs,
    adminKey,
    http,
    async principal(input) {
      counter += 1;
      const kind = input.kind ?? 'person';
      const email = kind === 'service' ? undefined : (input.email ?? `user${counter}-${Date.now()}@example.com`);
      const created = await http()
        .post('/v1/principals')
        .set('authorization', `Bearer ${adminKey}`)
        .send({ kind, email, displayName: input.displayName ?? `User ${counter}`, groups: input.groups ?? [] })
        .expect(201);
      const key = await http()
        .post(`/v1/principals/${created.body.id}/api-keys`)
        .set('authorization', `Bearer ${adminKey}`)
        .send({ name: 'test' })
        .expect(201);
      return { id: created.body.id as string, key: key.body.key as string, email: created.body.email as string | null };
    },
    async close() {
      await app.close();
      await deps.close();
      await database.drop();
    },
  };
}
