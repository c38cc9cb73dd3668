import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';

// The committed document (npm run openapi:check keeps it equal to what the app serves).
const document = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8')) as {
  info: { license?: { name: string } };
  servers?: { url: string }[];
  components: Record<string, unknown>;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, Media> }; responses: Record<string, { description: string; content?: Record<string, Media> }> }>>;
};
interface Media {
  schema: Record<string, unknown>;
  example?: unknown;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

/** Every body of the document: [where, media] for request bodies and responses. */
const bodies = Object.entries(document.paths).flatMap(([path, item]) =>
  Object.entries(item).flatMap(([method, operation]) => [
    ...Object.entries(operation.requestBody?.content ?? {}).map(([type, media]) => [`${method.toUpperCase()} ${path} request ${type}`, media] as const),
    ...Object.entries(operation.responses).flatMap(([status, response]) =>
      Object.entries(response.content ?? {}).map(([type, media]) => [`${method.toUpperCase()} ${path} ${status} ${type}`, media] as const),
    ),
  ]),
);

describe('openapi/openapi.json', () => {
  it('names its servers and license', () => {
    expect(document.servers?.length).toBeGreaterThan(0);
    expect(document.info.license?.name).toBe('Apache-2.0');
  });

  it('describes every response (no "Default Response")', () => {
    const responses = Object.values(document.paths).flatMap((item) => Object.values(item).flatMap((operation) => Object.values(operation.responses)));
    expect(responses.length).toBeGreaterThan(50);
    expect(responses.filter((response) => response.description === 'Default Response' || response.description === '')).toEqual([]);
  });

  it.each(bodies)('%s has an example that its schema accepts', (_where, media) => {
    expect(media.example).toBeDefined();
    // The schema's $refs point into the document's components: validate with them beside it.
    const validate = ajv.compile({ ...media.schema, components: document.components });
    expect(validate(media.example), ajv.errorsText(validate.errors)).toBe(true);
  });
});
