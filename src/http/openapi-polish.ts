/**
 * Finishes the generated OpenAPI document (issue 15): servers, the license, a description for
 * every response (Fastify's default says "Default Response"), and an example for every request
 * and response body that declares none. Examples are built from the schema itself, so they stay
 * true as schemas change; test/openapi-examples.test.ts validates each against its schema.
 */

import { problemCatalog } from './problems.js';

type Json = Record<string, unknown>;
type Schema = Json & { $ref?: string; type?: string | string[]; properties?: Record<string, Schema>; items?: Schema };

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No content',
  '302': 'Redirect',
  '400': 'Bad request',
  '401': 'Not authenticated',
  '403': 'Forbidden',
  '404': 'Not found',
  '409': 'Conflict',
  '413': 'Body too large',
  '415': 'Unsupported media type',
  '429': 'Rate limited',
  '500': 'Internal error',
  '502': 'Upstream failure',
  '503': 'Unavailable',
};

/** Strings tried, in order, for a string schema with a pattern or length bounds and no format. */
const STRING_CANDIDATES = [
  'INC-42 hotfix on the payments API',
  'prod-admin',
  'brevet-admins',
  'arn:aws:iam::123456789012:role/Admin',
  'eu-west-1',
  '09:00',
  'U0123ABCD',
  'C0123ABCD',
  'request.created',
  's3:GetObject',
  'AKIAEXAMPLE',
  '12345',
  'example',
];

export function polishOpenApi(document: Json, options: { publicUrl?: string | undefined } = {}): Json {
  const info = document['info'] as Json;
  info['license'] = { name: 'Apache-2.0', identifier: 'Apache-2.0' };
  document['servers'] = [
    ...(options.publicUrl === undefined ? [] : [{ url: options.publicUrl, description: 'This deployment (BREVET_PUBLIC_URL)' }]),
    { url: 'http://localhost:3000', description: 'npm start on this machine (dev mode)' },
  ];
  const components = ((document['components'] as Json | undefined)?.['schemas'] ?? {}) as Record<string, Schema>;
  const example = (schema: Schema) => exampleOf(schema, components, 0);
  for (const item of Object.values((document['paths'] ?? {}) as Record<string, Record<string, Json>>)) {
    for (const operation of Object.values(item)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      addExamples((operation['requestBody'] as Json | undefined)?.['content'], example);
      for (const [status, response] of Object.entries(operation['responses'] as Record<string, Json>)) {
        if (response['description'] === 'Default Response' || response['description'] === undefined) {
          response['description'] = describe(status, response, operation['summary']);
        }
        const problem = (response['content'] as Json | undefined)?.['application/problem+json'] as Json | undefined;
        if (problem !== undefined && problem['example'] === undefined) problem['example'] = problemExample(Number(status), operation['operationId']);
        addExamples(response['content'], example);
      }
    }
  }
  return document;
}

/** A problem of the catalogue with this status, as the error handler writes it. */
function problemExample(status: number, operationId: unknown): Json {
  const [type, entry] = Object.entries(problemCatalog).find(([, candidate]) => candidate.status === status) ?? ['internal', problemCatalog.internal];
  const example: Json = { type, title: entry.title, status, detail: `${entry.title} (${typeof operationId === 'string' ? operationId : 'this operation'})` };
  if (type === 'validation') example['errors'] = [{ field: '/body/durationSeconds', message: 'must be >= 900' }];
  return example;
}

function describe(status: string, response: Json, summary: unknown): string {
  const text = STATUS_TEXT[status] ?? `HTTP ${status}`;
  const schema = Object.values((response['content'] ?? {}) as Record<string, { schema?: Schema }>)[0]?.schema;
  const said = typeof schema?.['description'] === 'string' ? schema['description'] : typeof summary === 'string' ? summary : undefined;
  return said === undefined ? text : `${text}: ${said.charAt(0).toLowerCase()}${said.slice(1)}`;
}

function addExamples(content: unknown, example: (schema: Schema) => unknown): void {
  for (const media of Object.values((content ?? {}) as Record<string, Json>)) {
    if (media['example'] !== undefined || media['examples'] !== undefined || media['schema'] === undefined) continue;
    media['example'] = example(media['schema'] as Schema);
  }
}

/** A value that satisfies `schema` (refs into components resolved), built from its own hints. */
export function exampleOf(schema: Schema, components: Record<string, Schema>, depth: number): unknown {
  if (schema.$ref !== undefined) {
    const target = components[schema.$ref.replace('#/components/schemas/', '')];
    return target === undefined ? null : exampleOf(target, components, depth);
  }
  for (const key of ['const', 'example', 'default'] as const) if (schema[key] !== undefined) return schema[key];
  if (Array.isArray(schema['examples']) && schema['examples'].length > 0) return schema['examples'][0];
  if (Array.isArray(schema['enum'])) return schema['enum'][0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const choices = schema[key] as Schema[] | undefined;
    if (choices !== undefined) return exampleOf(choices.find((choice) => choice.type !== 'null') ?? choices[0]!, components, depth);
  }
  if (Array.isArray(schema['allOf'])) return Object.assign({}, ...(schema['allOf'] as Schema[]).map((part) => exampleOf(part, components, depth)));
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type ?? (schema.properties !== undefined ? 'object' : undefined)) {
    case 'object': {
      const result: Json = {};
      if (depth > 8) return result;
      for (const [name, property] of Object.entries(schema.properties ?? {})) result[name] = exampleOf(property, components, depth + 1);
      return result;
    }
    case 'array': {
      const item = schema.items === undefined ? 'example' : exampleOf(schema.items, components, depth + 1);
      return Array.from({ length: Math.max(1, Number(schema['minItems'] ?? 1)) }, () => item);
    }
    case 'integer':
    case 'number':
      return numberOf(schema);
    case 'boolean':
      return false;
    case 'string':
      return stringOf(schema);
    default:
      return null;
  }
}

function numberOf(schema: Schema): number {
  if (typeof schema['minimum'] === 'number') return schema['minimum'];
  if (typeof schema['exclusiveMinimum'] === 'number') return schema['exclusiveMinimum'] + 1;
  if (typeof schema['maximum'] === 'number') return Math.min(schema['maximum'], 1);
  return 1;
}

function stringOf(schema: Schema): string {
  switch (schema['format']) {
    case 'date-time':
      return '2026-12-03T09:00:00.000Z';
    case 'date':
      return '2026-12-03';
    case 'email':
      return 'alice@example.com';
    case 'uri':
    case 'url':
      return 'https://brevet.example.com/v1/requests/req_01JEXAMPLE';
    case 'uuid':
      return '3f1c2a8e-5b7d-4c9a-9e21-6d0f8b4a7c13';
    case 'ipv4':
      return '192.0.2.10';
    case 'ipv6':
      return '2001:db8::10';
  }
  const min = Number(schema['minLength'] ?? 0);
  const max = Number(schema['maxLength'] ?? Infinity);
  const pattern = typeof schema['pattern'] === 'string' ? new RegExp(schema['pattern'], 'u') : undefined;
  const fits = (value: string) => value.length >= min && value.length <= max && (pattern === undefined || pattern.test(value));
  return STRING_CANDIDATES.find(fits) ?? ['x'.repeat(Math.max(min, 1)), '0'.repeat(Math.max(min, 1))].find(fits) ?? 'example';
}
