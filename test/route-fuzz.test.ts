// SPEC §3 rule 7, for every route of openapi/openapi.json: generated junk (NUL, lone surrogates,
// bidi controls, zero-width characters, huge strings, deep nesting, wrong types, junk path
// parameters, query strings and headers), sent as an admin and as a plain user, never gets a
// 5xx; every refusal is an application/problem+json document and changes nothing in the database.
// Runs are bounded and seeded per route (FUZZ_RUNS and FUZZ_SEED explore further by hand).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import supertest from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProfile, startHarness, type Harness } from './credentials/helpers.js';
import { auth } from './support/api.js';
import {
  deep,
  deepJson,
  fromSchema,
  headerText,
  junkString,
  junkValue,
  operations,
  percentEncode,
  poisonString,
  textFor,
  URL_POISON,
  type Operation,
} from './support/openapi-fuzz.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 12);
const BASE_SEED = Number(process.env['FUZZ_SEED'] ?? 20261202);

let h: Harness;
let pool: pg.Pool;
let tables: { name: string }[];
let request: () => TestAgent;
let keys: { admin: string; user: string; disabled: string };
/** Ids that exist, per path parameter name; never the acting principals' own (see beforeAll). */
let known: Record<string, string[]>;

beforeAll(async () => {
  h = await startHarness({ listen: true });
  const { t } = h;
  const user = await t.principal({ groups: ['dev'] });
  // Admin calls may disable, edit or revoke whatever the path names: only this spare principal
  // and its key are named, so the two callers stay able to call.
  const spare = await t.principal({ groups: ['dev', 'sre'] });
  const disabled = await t.principal({ groups: ['dev'] });
  await t.http().patch(`/v1/principals/${disabled.id}`).set(auth(t.adminKey)).send({ disabled: true }).expect(200);
  const gated = await createProfile(t, { approval: { required: 1, approverGroups: ['sre'] } });
  const auto = await createProfile(t);
  const pending = await t.http().post('/v1/requests').set(auth(user.key)).send({ profile: gated.name, justification: 'fuzz fixture' }).expect(201);
  const active = await t.http().post('/v1/requests').set(auth(user.key)).send({ profile: auto.name, justification: 'fuzz fixture' }).expect(201);
  const spareKeys = await t.http().get(`/v1/principals/${spare.id}/api-keys`).set(auth(t.adminKey)).expect(200);
  keys = { admin: t.adminKey, user: user.key, disabled: disabled.key };
  known = {
    id: [pending.body.id, active.body.id, gated.id, gated.name, auto.name, spare.id],
    keyId: [spareKeys.body.items[0].id],
  };
  pool = new pg.Pool({ connectionString: t.database.url, max: 2 });
  ({ rows: tables } = await pool.query<{ name: string }>(
    "select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
  ));
  // One server for the whole run: supertest would otherwise start one per call.
  const agent = supertest(h.baseUrl!);
  request = () => agent;
});
afterAll(async () => {
  await pool?.end();
  await h?.close();
});

/**
 * A digest of every row of every table. The API key's last-use time is left out: authenticating
 * legitimately touches it. The audit trail is digested twice more, without `auth.denied` events
 * and without the refusals that SPEC §3 rule 9 asks to audit (`request.refused`,
 * `principal.link-refused`…: actions ending in `refused`), so that a test can allow
 * exactly those and nothing else.
 */
async function snapshot(): Promise<Record<string, string>> {
  const digest = (label: string, table: string, where = '') =>
    `select '${label}' as name, count(*)::int as n, md5(coalesce(string_agg((to_jsonb(x) - 'last_used_at')::text, '|' order by (to_jsonb(x) - 'last_used_at')::text), '')) as digest from "${table}" x ${where}`;
  const queries = [
    ...tables.map(({ name }) => digest(name, name)),
    digest(WITHOUT_AUTH_DENIED, 'audit_events', "where x.action <> 'auth.denied'"),
    digest(WITHOUT_REFUSED, 'audit_events', "where x.action not like '%refused'"),
  ];
  const { rows } = await pool.query<{ name: string; n: number; digest: string }>(queries.join(' union all '));
  return Object.fromEntries(rows.map((row) => [row.name, `${row.n}:${row.digest}`]));
}

const WITHOUT_AUTH_DENIED = 'audit_events without auth.denied';
const WITHOUT_REFUSED = 'audit_events without *refused';

/** The snapshot as compared: every table, or the audit trail only without the events allowed. */
function compared(state: Record<string, string>, allow?: 'auth.denied' | '*refused'): Record<string, string> {
  if (allow === undefined) return state;
  const { audit_events: _all, ...rest } = state;
  return { ...rest, [allow === 'auth.denied' ? WITHOUT_REFUSED : WITHOUT_AUTH_DENIED]: 'not compared' };
}

type Body = { kind: 'none' } | { kind: 'json'; value: unknown; contentType: string } | { kind: 'raw'; text: string; contentType: string };

interface Case {
  as: 'admin' | 'user';
  path: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
  body: Body;
}

const fieldsOf = (op: Operation) => Object.keys((op.body?.['properties'] ?? {}) as object);
const pathNames = (op: Operation) => op.parameters.filter((p) => p.in === 'path').map((p) => p.name);

/** A value of a path parameter: an id that exists, a shaped one, or junk. */
const pathValue = (name: string) => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...(known[name] ?? ['x'])) }, { weight: 2, arbitrary: junkString });

const jsonTypes = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json; charset=latin1'];
const otherTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', ''];

function bodyFor(op: Operation): fc.Arbitrary<Body> {
  if (op.method === 'get') return fc.constant({ kind: 'none' });
  const value = op.body === undefined ? junkValue : fromSchema(op.body);
  const json = fc.record({ kind: fc.constant('json' as const), value, contentType: fc.constantFrom(...jsonTypes) });
  const raw = fc.record({
    kind: fc.constant('raw' as const),
    text: fc.oneof(
      junkString,
      value.map((v) => (JSON.stringify(v) ?? '').slice(0, -1)),
      fc.tuple(fc.constantFrom(...fieldsOf(op), 'x'), fc.constantFrom(100, 10_000, 30_000)).map(([field, levels]) => deepJson(field, levels)),
    ),
    contentType: fc.constantFrom(...jsonTypes, ...otherTypes),
  });
  return fc.oneof({ weight: 8, arbitrary: json }, { weight: 1, arbitrary: raw }, { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) });
}

/** Long-poll parameters: a valid wait is 0, so that a run never sits out a real wait. */
const LONG_POLL = /^wait/i;

function caseFor(op: Operation): fc.Arbitrary<Case> {
  const declaredQuery = op.parameters.filter((p) => p.in === 'query');
  const queryEntry = fc.oneof(
    ...declaredQuery.map((p) => fc.tuple(fc.constant(p.name), LONG_POLL.test(p.name) ? fc.constantFrom('0', 'soon', '-1', '1e9') : textFor(p.schema))),
    fc.tuple(junkString.map((s) => s.slice(0, 50)), junkString.map((s) => s.slice(0, 3000))),
  );
  const declaredHeaders = op.parameters.filter((p) => p.in === 'header');
  const headerNames = ['x-forwarded-for', 'accept', 'accept-language', 'x-request-id', 'origin', 'if-none-match', ...declaredHeaders.map((p) => p.name)];
  return fc.record({
    as: fc.constantFrom('admin' as const, 'user' as const),
    path: fc.record(Object.fromEntries(pathNames(op).map((name) => [name, pathValue(name)]))),
    query: fc.array(queryEntry, { maxLength: 4 }),
    headers: fc.dictionary(fc.constantFrom(...headerNames), fc.oneof(headerText, ...declaredHeaders.map((p) => textFor(p.schema).map(latin1))), { maxKeys: 3 }),
    body: bodyFor(op),
  });
}

/** What HTTP can carry in a header value; the rest never leaves the client. */
const latin1 = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '').trim();

/** The same case with one thing in it that every route must refuse, where the route takes input. */
function poisoned(op: Operation): fc.Arbitrary<Case> {
  const places = ['query', ...(pathNames(op).length > 0 ? ['path'] : []), ...(op.method === 'get' ? [] : ['body'])];
  const urlPoison = fc.tuple(junkString.map((s) => s.slice(0, 40)), fc.constantFrom(...URL_POISON)).map(([text, poison]) => `${text}${poison}`);
  return fc.tuple(caseFor(op), fc.constantFrom(...places), urlPoison, poisonString, fc.nat()).map(([c, place, inUrl, inBody, pick]) => {
    if (place === 'query') {
      const names = [...op.parameters.filter((p) => p.in === 'query').map((p) => p.name), 'q'];
      return { ...c, query: [...c.query, [names[pick % names.length]!, inUrl] as [string, string]] };
    }
    if (place === 'path') {
      const name = pathNames(op)[pick % pathNames(op).length]!;
      // A lone surrogate in a path arrives as bytes that are not UTF-8.
      return { ...c, path: { ...c.path, [name]: pick % 3 === 0 ? `${inUrl}\ud800` : inUrl } };
    }
    const value = c.body.kind === 'json' && typeof c.body.value === 'object' && c.body.value !== null && !Array.isArray(c.body.value) ? c.body.value : {};
    const fields = fieldsOf(op);
    const poisonedBody = [
      { ...value, [fields[pick % Math.max(fields.length, 1)] ?? 'x']: inBody },
      { ...value, [inBody]: 'value' },
      { ...value, nested: [{ deeper: inBody }] },
      { ...value, [fields[pick % Math.max(fields.length, 1)] ?? 'x']: deep(40) },
    ][pick % 5];
    // Thousands of levels, as text: too deep for any recursive walk of the parsed body.
    if (poisonedBody === undefined) return { ...c, body: { kind: 'raw', text: deepJson(fields[0] ?? 'x', 20_000), contentType: 'application/json' } };
    return { ...c, body: { kind: 'json', value: poisonedBody, contentType: 'application/json' } };
  });
}

function send(op: Operation, c: Case, authorization: string) {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => percentEncode(c.path[name] ?? ''));
  const query = c.query.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
  const url = query === '' ? path : `${path}?${query}`;
  let call = request()[op.method](url).set(c.headers).set('authorization', authorization);
  if (c.body.kind === 'json') call = call.set('content-type', c.body.contentType).send(JSON.stringify(c.body.value) ?? 'null');
  if (c.body.kind === 'raw') call = call.set('content-type', c.body.contentType).send(c.body.text);
  return { url, call };
}

function expectProblem(response: { status: number; headers: Record<string, string>; text: string }, what: string) {
  expect(response.headers['content-type'], what).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.text) as { type?: unknown; status?: unknown; title?: unknown; detail?: unknown };
  expect(body.status, what).toBe(response.status);
  expect(typeof body.type, what).toBe('string');
  expect(typeof body.detail, what).toBe('string');
}

const seedOf = (name: string) => BASE_SEED ^ createHash('sha256').update(name).digest().readInt32BE(0);
const who = (c: Case) => `Bearer ${keys[c.as]}`;

describe.each(operations.map((op) => [`${op.method.toUpperCase()} ${op.path}`, op] as const))('%s', (name, op) => {
  it('refuses poisoned input with a 4xx problem and writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(poisoned(op), async (c) => {
        const before = await snapshot();
        const { url, call } = send(op, c, who(c));
        const response = await call;
        const what = `${name}: ${op.method.toUpperCase()} ${url.slice(0, 300)} as ${c.as} → ${response.status} ${response.text.slice(0, 300)}`;
        expect(response.status, what).toBeGreaterThanOrEqual(400);
        expect(response.status, what).toBeLessThan(500);
        expectProblem(response, what);
        expect(await snapshot(), what).toEqual(before);
      }),
      { numRuns: RUNS, seed: seedOf(`poison ${name}`), endOnFailure: true },
    );
  });

  it('answers any junk without a 5xx; every refusal is a problem that wrote nothing', async () => {
    await fc.assert(
      fc.asyncProperty(caseFor(op), async (c) => {
        const before = await snapshot();
        const { url, call } = send(op, c, who(c));
        const response = await call;
        const what = `${name}: ${op.method.toUpperCase()} ${url.slice(0, 300)} as ${c.as} → ${response.status} ${response.text.slice(0, 300)}`;
        expect(response.status, what).toBeLessThan(500);
        if (response.status >= 400) {
          expectProblem(response, what);
          // Input refused as input writes nothing; a refused action is audited (SPEC §3 rule 9), nothing more.
          const allow = [403, 404, 409].includes(response.status) ? '*refused' : undefined;
          expect(compared(await snapshot(), allow), what).toEqual(compared(before, allow));
        }
      }),
      { numRuns: RUNS, seed: seedOf(`junk ${name}`), endOnFailure: true },
    );
  });

  it.runIf(op.authenticated)('refuses bad credentials with 401 and writes nothing but auth.denied events', async () => {
    const badAuth = fc.oneof(
      headerText.map((text) => `Bearer ${text}`),
      headerText,
      fc.constantFrom('', 'Bearer', 'Basic YWRtaW46YWRtaW4=', `Bearer ${'a'.repeat(9000)}`, 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', `bearer brv_${'x'.repeat(40)}`),
      fc.constant(`Bearer ${keys.disabled}`),
    );
    const valid = fc.record(Object.fromEntries(pathNames(op).map((n) => [n, fc.constantFrom(...(known[n] ?? ['x']))])));
    await fc.assert(
      fc.asyncProperty(badAuth, valid, async (authorization, path) => {
        const before = await snapshot();
        const { url, call } = send(op, { as: 'user', path, query: [], headers: {}, body: { kind: 'none' } }, authorization);
        const response = await call;
        const what = `${name}: ${url} with ${authorization.slice(0, 80)} → ${response.status} ${response.text.slice(0, 300)}`;
        expect(response.status, what).toBe(401);
        expectProblem(response, what);
        expect(compared(await snapshot(), 'auth.denied'), what).toEqual(compared(before, 'auth.denied'));
      }),
      { numRuns: Math.max(4, Math.floor(RUNS / 2)), seed: seedOf(`auth ${name}`), endOnFailure: true },
    );
  });
});
