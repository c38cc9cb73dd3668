import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { asSuperuser, startAuditApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startAuditApp();
});
afterAll(async () => {
  await t?.close();
});

// session_replication_role = replica skips ordinary triggers; the audit triggers fire ALWAYS.
it.each(['update audit_events set action = $$x$$', 'delete from audit_events', 'truncate audit_events'])(
  'refuses %s even with session_replication_role = replica',
  async (statement) => {
    const error = await asSuperuser(t, async (client) => {
      await client.query('set session_replication_role = replica');
      return client.query(statement).then(() => undefined, (e: unknown) => e);
    });
    expect(error).toMatchObject({ code: '42501' });
  },
);
