// SPEC §3 rule 5: after a whole flow, no secret STS or the federation endpoint handed out is in
// the database (every table, every column), the logs, or the audit trail as clients read it.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auth, BREVET_SECRET_KEY, createProfile, issue, openRequest, revoke, roleArn, startHarness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Every row of every table of the test database, as PostgreSQL prints it. */
async function dumpDatabase(url: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    const dump = new Map<string, string>();
    for (const { schema, name } of tables.rows) {
      const quoted = `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;
      const rows = await client.query<{ row: string }>(`select t::text as row from ${quoted} t`);
      dump.set(`${schema}.${name}`, rows.rows.map((r) => r.row).join('\n'));
    }
    return dump;
  } finally {
    await client.end();
  }
}

/** The value itself, and a slice from its middle, so a truncated or re-encoded copy is caught too. */
function needles(secret: string): string[] {
  const middle = Math.floor(secret.length / 2);
  return [secret, secret.slice(middle - 8, middle + 8), encodeURIComponent(secret)];
}

it('no secret key, session token, sign-in token or API key is stored, logged or audited', async () => {
  const profile = await createProfile(h.t, {
    roleArn: roleArn('SecretsFlow'),
    approval: { required: 1, approverGroups: ['sre'] },
    revocation: 'deny-policy',
  });
  const requester = await h.t.principal({ groups: ['dev'] });
  const approver = await h.t.principal({ groups: ['sre'] });
  const request = await openRequest(h.t, requester.key, profile.name);
  await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve', comment: 'ok' }).expect(200);

  const issuedBefore = h.aws.issued.length;
  const bodies: string[] = [];
  for (const format of ['json', 'credential_process', 'env'] as const) {
    const response = await issue(h.t, requester.key, request.id, format);
    expect(response.status).toBe(200);
    bodies.push(response.text);
  }
  const consoleResponse = await h.t.http().post(`/v1/requests/${request.id}/console`).set(auth(requester.key)).send().expect(200);
  bodies.push(consoleResponse.text);
  // An STS failure and a refused issuance write errors and audit events too.
  h.aws.failNextAssumeRole({ kind: 'error', code: 'AccessDenied', message: 'not authorized to perform sts:AssumeRole', status: 403 });
  expect((await issue(h.t, requester.key, request.id)).status).toBe(502);
  const revoked = await revoke(h.t, requester.key, request.id);
  expect(revoked.body).toMatchObject({ status: 'revoked', denyPolicyStatus: 'applied' });
  expect((await issue(h.t, requester.key, request.id)).status).toBe(409);

  const issued = h.aws.issued.slice(issuedBefore);
  expect(issued).toHaveLength(4);
  expect(h.federation.tokens).toHaveLength(1);
  const secrets: Record<string, string> = {
    'Brevet AWS secret key': BREVET_SECRET_KEY,
    'requester API key': requester.key,
    'approver API key': approver.key,
    'admin API key': h.t.adminKey,
    'sign-in token': h.federation.tokens[0]!,
  };
  issued.forEach((c, i) => {
    secrets[`secretAccessKey #${i}`] = c.secretAccessKey;
    secrets[`sessionToken #${i}`] = c.sessionToken;
  });
  // The responses did carry them: the search below looks for strings that exist.
  for (const [i, c] of issued.slice(0, 3).entries()) {
    expect(bodies[i]).toContain(c.secretAccessKey);
    expect(bodies[i]).toContain(c.sessionToken);
  }
  expect(consoleResponse.body.url).toContain(encodeURIComponent(h.federation.tokens[0]!).slice(0, 30));

  const auditApi = await h.t.http().get(`/v1/audit?requestId=${request.id}&limit=500`).set(auth(h.t.adminKey)).expect(200);
  expect((auditApi.body.items as { action: string }[]).map((e) => e.action)).toEqual(
    expect.arrayContaining(['credentials.issued', 'credentials.failed', 'credentials.refused', 'request.revoked', 'revocation.deny-policy-applied']),
  );
  const exported = await h.t.http().get('/v1/audit/export?format=ndjson').set(auth(h.t.adminKey)).expect(200);
  const places: Record<string, string> = {
    logs: h.t.logs.join('\n'),
    'audit (API)': auditApi.text,
    'audit (export)': exported.text,
    'IAM role policies': JSON.stringify([...h.aws.rolePolicies].map(([role, policies]) => [role, [...policies]])),
  };
  for (const [table, rows] of await dumpDatabase(h.t.database.url)) places[`table ${table}`] = rows;
  expect(Object.keys(places)).toEqual(expect.arrayContaining(['table public.issuances', 'table public.audit_events', 'table public.requests']));
  expect(places['logs']!.length, 'the app wrote logs').toBeGreaterThan(1000);
  // What Brevet must keep is there: the access key ids, for the CloudTrail pivot.
  for (const c of issued) expect(places['table public.issuances']).toContain(c.accessKeyId);

  const leaks: string[] = [];
  for (const [place, text] of Object.entries(places)) {
    for (const [name, secret] of Object.entries(secrets)) {
      if (needles(secret).some((needle) => text.includes(needle))) leaks.push(`${name} in ${place}`);
    }
  }
  expect(leaks).toEqual([]);
});
