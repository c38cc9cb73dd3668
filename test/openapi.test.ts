import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
let served: { openapi: string; paths: Record<string, Record<string, { operationId?: string; summary?: string }>> };

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

beforeAll(async () => {
  t = await startTestApp();
  const response = await t.http().get('/openapi.json').expect(200);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  served = response.body;
});
afterAll(async () => {
  await t?.close();
});

function operations() {
  return Object.entries(served.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, operation]) => ({ path, method, operation })),
  );
}

describe('GET /openapi.json', () => {
  it('is served without authentication and validates as OpenAPI 3.x', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\./);
  });

  it('documents the Foundation routes', () => {
    const documented = operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    expect(documented).toEqual(
      expect.arrayContaining([
        'GET /healthz',
        'GET /readyz',
        'GET /v1/me',
        'POST /v1/principals',
        'GET /v1/principals',
        'GET /v1/principals/{id}',
        'PATCH /v1/principals/{id}',
        'POST /v1/principals/{id}/api-keys',
        'GET /v1/principals/{id}/api-keys',
        'DELETE /v1/principals/{id}/api-keys/{keyId}',
      ]),
    );
  });

  it('gives every operation a unique operationId and a summary', () => {
    const all = operations();
    const missing = all.filter(({ operation }) => !operation.operationId || !operation.summary).map(({ method, path }) => `${method} ${path}`);
    expect(missing).toEqual([]);
    const ids = all.map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('equals the committed openapi/openapi.json (run `npm run openapi` when this fails)', async () => {
    const committed = JSON.parse(await readFile(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as unknown;
    expect(served).toEqual(committed);
  });
});
