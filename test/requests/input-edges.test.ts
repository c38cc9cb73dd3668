// Issue 10 item 4, by example: each class of input that used to reach a 500 (or an aborted
// stream, or Fastify's own JSON) is answered 4xx application/problem+json naming the field, and
// changes nothing. route-fuzz.test.ts throws generated junk of the same classes at every route.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { auth, countAudit, countRequests, createProfile, expectProblem, fieldsOf, openRequest, startListeningApp, type CreatedProfile } from './helpers.js';

let t: TestApp;
let profile: CreatedProfile;
let alice: { id: string; key: string };
let bob: { id: string; key: string };

beforeAll(async () => {
  t = await startListeningApp();
  profile = await createProfile(t);
  alice = await t.principal({ groups: ['dev'] });
  bob = await t.principal({ groups: ['sre'] });
});
afterAll(async () => {
  await t?.close();
});

const counts = async () => ({ requests: await countRequests(t), audit: await countAudit(t) });
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('query strings', () => {
  it.each([
    ['/v1/audit?actor=a%00b', '/querystring/actor', /NUL/],
    ['/v1/audit?requestId=%00', '/querystring/requestId', /NUL/],
    ['/v1/audit?profileId=x%E2%80%AEy', '/querystring/profileId', /U\+202E/],
    ['/v1/audit/export?format=csv&actor=a%00b', '/querystring/actor', /NUL/],
    ['/v1/audit/export?format=ndjson&profileId=%00', '/querystring/profileId', /NUL/],
    ['/v1/audit/verify?junk=%00', '/querystring/junk', /NUL/],
    ['/v1/requests?status=pending&x=%E2%81%A6', '/querystring/x', /U\+2066/],
    ['/v1/me?anything=%00', '/querystring/anything', /NUL/],
  ])('%s is a 400 naming the parameter, never a 500 nor a 200 cut off mid-stream', async (url, field, message) => {
    const response = await t.http().get(url).set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toEqual([field]);
    expect(response.body.detail).toMatch(message);
  });

  it('reads the first rows of an export before answering 200', async () => {
    const response = await t.http().get('/v1/audit/export?format=csv').set(auth(t.adminKey)).expect(200);
    expect(response.text.split('\r\n')[0]).toMatch(/^id,occurredAt,/);
  });
});

describe('pagination cursors', () => {
  it.each([
    ['/v1/requests', 'not base64'],
    ['/v1/requests', base64url(['-271821-04-20T00:00:00.000Z', 'req_x'])],
    ['/v1/requests', base64url(['0000-01-01T00:00:00.000Z', 'req_x'])],
    ['/v1/requests', base64url(['2026-01-01T00:00:00.000Z', 'req_\u0000'])],
    ['/v1/requests', base64url(['2026-01-01T00:00:00Z', 'req_x'])],
    ['/v1/requests', base64url(['2026-02-30T00:00:00.000Z', 'req_x'])],
    ['/v1/requests', base64url(['2026-01-01T00:00:00.000Z'])],
    ['/v1/requests', base64url({ createdAt: '2026-01-01T00:00:00.000Z', id: 'req_x' })],
    ['/v1/requests', base64url(['2026-01-01T00:00:00.000Z', 42])],
    ['/v1/principals', 'prn%00x'],
    ['/v1/principals', 'prn%20x'],
    ['/v1/principals', 'x'.repeat(300)],
    ['/v1/audit', '9223372036854775808'],
    ['/v1/audit', '-1'],
    ['/v1/audit', '1e3'],
    ['/v1/audit', '12345678901234567890'],
  ])('%s?cursor=%s is a 400 naming the cursor', async (path, cursor) => {
    const response = await t.http().get(`${path}?cursor=${cursor}`).set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toEqual(['/querystring/cursor']);
  });

  it('still follows the cursors the API gives out', async () => {
    await openRequest(t, alice.key, { profile: profile.name });
    await openRequest(t, alice.key, { profile: profile.name });
    const first = await t.http().get('/v1/requests?limit=1').set(auth(alice.key)).expect(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    await t.http().get(`/v1/requests?limit=1&cursor=${first.body.nextCursor}`).set(auth(alice.key)).expect(200);
    const principals = await t.http().get('/v1/principals?limit=1').set(auth(t.adminKey)).expect(200);
    await t.http().get(`/v1/principals?limit=1&cursor=${principals.body.nextCursor}`).set(auth(t.adminKey)).expect(200);
  });
});

describe('bodies', () => {
  it.each([100, 20_000])('answers JSON nested %i levels deep with 400, not a stack overflow', async (levels) => {
    const before = await counts();
    const body = `{"name":"deep","roleArn":"arn:aws:iam::123456789012:role/X","sessionPolicy":{"Statement":${'['.repeat(levels)}${']'.repeat(levels)}}}`;
    const response = await t.http().post('/v1/profiles').set(auth(t.adminKey)).set('content-type', 'application/json').send(body);
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)[0]).toMatch(/^\/body\/sessionPolicy\/Statement\/0\/0/);
    expect(await counts()).toEqual(before);
  });

  it.each([
    ['a justification', 'post', () => '/v1/requests', () => ({ profile: profile.name, justification: 'fix \ud800 now' }), '/body/justification'],
    ['a ticket', 'post', () => '/v1/requests', () => ({ profile: profile.name, justification: 'fix it now', ticket: 'INC-\udc00' }), '/body/ticket'],
    ['a review comment', 'post', (id: string) => `/v1/requests/${id}/reviews`, () => ({ decision: 'approve', comment: 'ok \udbff' }), '/body/comment'],
    ['a revoke reason', 'post', (id: string) => `/v1/requests/${id}/revoke`, () => ({ reason: '\ud83d' }), '/body/reason'],
    ['a group name', 'post', () => '/v1/principals', () => ({ email: 'g@example.com', displayName: 'G', groups: ['ok', 'sre\ud800'] }), '/body/groups/1'],
    ['a display name', 'post', () => '/v1/principals', () => ({ email: 'd@example.com', displayName: '\udfffAlice' }), '/body/displayName'],
    ['a profile description', 'post', () => '/v1/profiles', () => ({ name: 'lone', roleArn: 'arn:aws:iam::123456789012:role/X', description: 'a\ud800' }), '/body/description'],
    ['a session policy value', 'post', () => '/v1/profiles', () => ({ name: 'lone', roleArn: 'arn:aws:iam::123456789012:role/X', sessionPolicy: { Sid: 'x\udc00' } }), '/body/sessionPolicy/Sid'],
    ['a session policy key', 'post', () => '/v1/profiles', () => ({ name: 'lone', roleArn: 'arn:aws:iam::123456789012:role/X', sessionPolicy: { 'k\ud800': 1 } }), '/body/sessionPolicy'],
  ] as const)('refuses a lone surrogate in %s with 400 naming the field', async (_what, method, path, body, field) => {
    const request = await openRequest(t, alice.key, { profile: profile.name });
    const before = await counts();
    const who = field === '/body/comment' ? bob.key : field.startsWith('/body/justification') || field === '/body/ticket' || field === '/body/reason' ? alice.key : t.adminKey;
    // JSON.stringify writes a lone surrogate as a \u escape, as a client would send it.
    const response = await t.http()[method](path(request.id)).set(auth(who)).set('content-type', 'application/json').send(JSON.stringify(body()));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toEqual([field]);
    expect(response.body.detail).toMatch(/surrogate/);
    expect(await counts()).toEqual(before);
  });
});

describe('the router', () => {
  it.each([
    ['a path parameter longer than the router takes', `/v1/requests/${'a'.repeat(500)}`],
    ['bad percent-encoding', '/v1/requests/%E0%A4%A'],
    ['a percent sign with no hex', '/v1/profiles/%zz'],
    ['a lone surrogate as UTF-8 bytes', '/v1/principals/%ED%A0%80'],
  ])('answers %s with a 400 problem, not Fastify JSON', async (_what, path) => {
    const response = await t.http().get(path).set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toEqual(['/params']);
  });

  it.each([
    ['NUL', '%00', /NUL/],
    ['a bidi override', '%E2%80%AE', /U\+202E/],
  ])('answers %s in a path parameter with a 400 naming it', async (_what, encoded, message) => {
    const response = await t.http().get(`/v1/requests/req${encoded}x`).set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(fieldsOf(response.body)).toEqual(['/params/id']);
    expect(response.body.detail).toMatch(message);
  });

  it('answers headers larger than the server takes with a 431 problem', async () => {
    const address = t.app.server.address() as { port: number };
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1', () => {
        socket.write(`GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (chunk) => (text += String(chunk)));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'headers-too-large', status: 431 });
  });

  it('answers malformed HTTP with a 400 problem', async () => {
    const address = t.app.server.address() as { port: number };
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1', () => socket.write('GET /v1/me HTTP/1.1\r\nHo\u0000st: x\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += String(chunk)));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ type: 'validation', status: 400 });
  });
});
