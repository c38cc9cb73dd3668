import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let target: { id: string; key: string };

beforeAll(async () => {
  t = await startTestApp();
  target = await t.principal({ displayName: 'Target', groups: ['dev'] });
});
afterAll(async () => {
  await t?.close();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const valid = { email: 'valid@example.com', displayName: 'Valid', groups: ['dev'] };

/** Everything the refused calls below could have changed. */
async function snapshot(): Promise<unknown> {
  const principals = await t.http().get('/v1/principals?limit=500').set(auth(t.adminKey)).expect(200);
  return principals.body.items;
}

/** Sends a raw body, so malformed JSON and odd content types reach the server untouched. */
function send(method: 'post' | 'patch', path: string, body: string, contentType = 'application/json') {
  return t.http()[method](path).set(auth(t.adminKey)).set('content-type', contentType).send(body);
}

function expectProblem(response: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ type, status });
}

describe('bad fields are refused with 400 naming the field', () => {
  it.each([
    ['a missing field', 'post', '/v1/principals', { email: 'a@example.com' }, '/body/displayName'],
    ['a wrong type', 'post', '/v1/principals', { ...valid, groups: 'dev' }, '/body/groups'],
    ['a wrong item type', 'post', '/v1/principals', { ...valid, groups: [42] }, '/body/groups/0'],
    ['an unknown field', 'post', '/v1/principals', { ...valid, isAdmin: true }, '/body/isAdmin'],
    ['a control character', 'post', '/v1/principals', { ...valid, displayName: 'Ali\u0000ce' }, '/body/displayName'],
    ['a newline in a single-line field', 'post', '/v1/principals', { ...valid, displayName: 'Alice\nAdmin' }, '/body/displayName'],
    ['an escape sequence', 'post', '/v1/principals', { ...valid, displayName: '\u001b[31mAlice' }, '/body/displayName'],
    ['an over-long field', 'post', '/v1/principals', { ...valid, displayName: 'x'.repeat(201) }, '/body/displayName'],
    ['a malformed email', 'post', '/v1/principals', { ...valid, email: 'not-an-email' }, '/body/email'],
    ['an email with a zero-width space (a look-alike of another)', 'post', '/v1/principals', { ...valid, email: 'val\u200bid@example.com' }, '/body/email'],
    ['an email with a soft hyphen', 'post', '/v1/principals', { ...valid, email: 'val\u00adid@example.com' }, '/body/email'],
    ['a string where a boolean is expected', 'patch', '/v1/principals/:target', { disabled: 'true' }, '/body/disabled'],
    ['a number where a boolean is expected', 'patch', '/v1/principals/:target', { disabled: 1 }, '/body/disabled'],
    ['an unknown field on PATCH', 'patch', '/v1/principals/:target', { role: 'admin' }, '/body/role'],
    ['a malformed Slack user id', 'patch', '/v1/principals/:target', { slackUserId: 'alice' }, '/body/slackUserId'],
  ] as const)('%s', async (_why, method, template, body, field) => {
    const before = await snapshot();
    const response = await send(method, template.replace(':target', target.id), JSON.stringify(body));
    expectProblem(response, 400, 'validation');
    expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    const name = field.split('/').filter((part) => part !== '' && !/^\d+$/.test(part)).at(-1);
    expect(response.body.detail).toContain(name);
    expect(await snapshot()).toEqual(before);
  });
});

describe('bodies that are not acceptable JSON are refused, never a 500', () => {
  it.each([
    ['a __proto__ key', 'post', '{"email":"p1@example.com","displayName":"P","__proto__":{"isAdmin":true}}'],
    ['a nested __proto__ key', 'post', '{"email":"p2@example.com","displayName":"P","groups":[],"x":{"__proto__":{"a":1}}}'],
    ['constructor.prototype', 'post', '{"email":"p3@example.com","displayName":"P","constructor":{"prototype":{"isAdmin":true}}}'],
    ['a __proto__ key on PATCH', 'patch', '{"__proto__":{"disabled":true}}'],
    ['malformed JSON', 'post', '{"email":"p4@example.com","displayName":'],
    ['a JSON string', 'post', '"hello"'],
    ['a JSON array', 'post', '[]'],
    ['JSON null', 'post', 'null'],
    ['an empty body', 'post', ''],
  ] as const)('%s gets 400', async (_why, method, raw) => {
    const before = await snapshot();
    const path = method === 'post' ? '/v1/principals' : `/v1/principals/${target.id}`;
    const response = await send(method, path, raw);
    expectProblem(response, 400, 'validation');
    expect(await snapshot()).toEqual(before);
  });

  it.each(['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/xml'])(
    'refuses a %s body with 415',
    async (contentType) => {
      const before = await snapshot();
      const response = await send('post', '/v1/principals', JSON.stringify(valid), contentType);
      expectProblem(response, 415, 'unsupported-media-type');
      expect(await snapshot()).toEqual(before);
    },
  );

  // Bodies two parsers would read differently (a proxy that checks the first key, Brevet the last).
  it.each([
    ['a key given twice', '{"email":"d1@example.com","displayName":"P","displayName":"Q"}', '/body/displayName'],
    ['a key given twice, once escaped', '{"email":"d2@example.com","displayName":"P","displ\\u0061yName":"Q"}', '/body/displayName'],
    ['a key given twice in a nested object', '{"email":"d3@example.com","displayName":"P","x":[{"a":1},{"b":1,"b":2}]}', '/body/x/1/b'],
    ['a key with a slash given twice', '{"email":"d4@example.com","displayName":"P","a/b":1,"a/b":2}', '/body/a~1b'],
  ] as const)('refuses %s with 400 naming it', async (_why, raw, field) => {
    const before = await snapshot();
    const response = await send('post', '/v1/principals', raw);
    expectProblem(response, 400, 'validation');
    expect(response.body['errors']).toEqual([{ field, message: 'is given more than once' }]);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['a lone continuation byte', Buffer.from([0x80])],
    ['an over-long encoding of "/"', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['a truncated sequence', Buffer.from([0xe2, 0x82])],
  ])('refuses a body that is not UTF-8 (%s) with 400', async (_why, bytes) => {
    const before = await snapshot();
    const body = Buffer.concat([Buffer.from('{"email":"u@example.com","displayName":"A'), bytes, Buffer.from('"}')]);
    // inject sends the bytes as they are (supertest would serialise a Buffer as JSON).
    const injected = await t.app.inject({ method: 'POST', url: '/v1/principals', headers: { ...auth(t.adminKey), 'content-type': 'application/json' }, payload: body });
    const response = { status: injected.statusCode, headers: injected.headers as Record<string, string>, body: injected.json<Record<string, unknown>>() };
    expectProblem(response, 400, 'validation');
    expect(response.body['errors']).toEqual([{ field: '/body', message: 'is not valid UTF-8' }]);
    expect(await snapshot()).toEqual(before);
  });

  it('takes a body that starts with a byte-order mark, as JSON readers do', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ email: 'bom@example.com', displayName: 'Bom' }))]);
    const injected = await t.app.inject({ method: 'POST', url: '/v1/principals', headers: { ...auth(t.adminKey), 'content-type': 'application/json' }, payload: body });
    expect(injected.statusCode).toBe(201);
  });

  it.each(['application/json; charset=latin1', 'application/json; charset="iso-8859-1"', 'application/json;charset=utf-16'])(
    'refuses %s with 415: a proxy honouring the charset would read other characters',
    async (contentType) => {
      const before = await snapshot();
      expectProblem(await send('post', '/v1/principals', JSON.stringify({ email: 'cs@example.com', displayName: 'Zoë' }), contentType), 415, 'unsupported-media-type');
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each(['application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json; charset="utf8"'])('takes %s', async (contentType) => {
    const email = `cs-${Buffer.from(contentType).toString('hex')}@example.com`;
    const response = await send('post', '/v1/principals', JSON.stringify({ email, displayName: 'Zoë' }), contentType);
    expect(response.status).toBe(201);
  });

  it('takes UTF-8 beyond ASCII as it is', async () => {
    const response = await send('post', '/v1/principals', JSON.stringify({ email: 'zoe@example.com', displayName: 'Zoë 東京 😀' }));
    expect(response.status).toBe(201);
    expect(response.body.displayName).toBe('Zoë 東京 😀');
  });

  it('refuses a 100 kB body with 413', async () => {
    const before = await snapshot();
    const response = await send('post', '/v1/principals', JSON.stringify({ ...valid, displayName: 'x'.repeat(100 * 1024) }));
    expectProblem(response, 413, 'payload-too-large');
    expect(await snapshot()).toEqual(before);
  });
});

describe('routes', () => {
  it.each([
    ['GET', '/v1/nothing-here'],
    ['GET', '/nothing-here?x=1'],
    ['DELETE', '/v1/principals'],
  ])('answers %s %s with 404 problem+json', async (method, path) => {
    const response = await t.http()[method === 'GET' ? 'get' : 'delete'](path).set(auth(t.adminKey));
    expectProblem(response, 404, 'not-found');
  });

  it('answers a malformed path id with 400 naming the parameter', async () => {
    const response = await t.http().get('/v1/principals/bad%20id!').set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(response.body.errors[0].field).toBe('/params/id');
  });

  it('answers a bad query parameter with 400 naming it', async () => {
    const response = await t.http().get('/v1/principals?limit=100000').set(auth(t.adminKey));
    expectProblem(response, 400, 'validation');
    expect(response.body.errors[0].field).toBe('/querystring/limit');
  });
});

describe('values the database cannot hold', () => {
  it('refuses a NUL character anywhere in a body with 400 naming the field, never 500', async () => {
    const response = await t
      .http()
      .post('/v1/principals')
      .set('authorization', `Bearer ${t.adminKey}`)
      .set('content-type', 'application/json')
      .send('{"email":"nul@example.com","displayName":"x","groups":["a\\u0000b"]}')
      .expect(400);
    expect(response.body).toMatchObject({ type: 'validation', errors: [{ field: '/body/groups/0' }] });
  });
});
