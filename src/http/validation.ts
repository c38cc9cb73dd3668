import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { findUnsafeText, humanText, NOTHING_VISIBLE } from '../domain/text.js';
import { Problem } from './problems.js';

// ajv-formats ships CommonJS with a default export that ESM sees one level down.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const shared: Options = {
  // Unknown fields are an error (SPEC §3 rule 7), never silently dropped.
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  strict: true,
  strictRequired: false,
  // TypeBox adds doc keywords Ajv does not know.
  keywords: ['example'],
};

/**
 * Bodies are validated strictly: `"1800"` is not a number. Query strings and path params
 * are text by nature, so they alone get type coercion.
 */
const bodyAjv = addFormats(new Ajv({ ...shared, coerceTypes: false }));
const textAjv = addFormats(new Ajv({ ...shared, coerceTypes: 'array' }));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
};

/**
 * SPEC §3 rule 7 at the edge, for every route and every part of a request (path parameters, query
 * string, headers, body): text Brevet refuses anywhere (NUL, lone surrogates, bidirectional
 * controls) and JSON nested too deep are answered 400 naming the field, before the schema and
 * long before the database, which would otherwise fail on them as a 500. The OIDC claims and the
 * Slack payloads go through refuseUnsafeText with the same rules.
 */
export async function refuseUnsafeRequest(request: FastifyRequest): Promise<void> {
  refuseUnsafeText(request.params, '/params');
  refuseUnsafeText(request.query, '/querystring');
  refuseUnsafeText(request.headers, '/headers');
  refuseUnsafeText(request.body, '/body');
}

/** Throws the 400 problem naming the first offending field of `value` (see findUnsafeText). */
export function refuseUnsafeText(value: unknown, root: string): void {
  const offence = findUnsafeText(value, root);
  if (offence !== undefined) {
    throw new Problem('validation', `${offence.field} ${offence.message}`, { errors: [offence] });
  }
}

/**
 * Free text written for people (see humanText): the normalised text, or a 400 naming `field`.
 * Optional text with nothing visible in it is no text: null.
 */
export function humanTextField(field: string, raw: string): string;
export function humanTextField(field: string, raw: string | null | undefined, options: { optional: true }): string | null;
export function humanTextField(field: string, raw: string | null | undefined, options?: { optional: true }): string | null {
  if (raw === null || raw === undefined) return null;
  const result = humanText(raw);
  if (result.ok) return result.text;
  if (options?.optional === true && result.message === NOTHING_VISIBLE) return null;
  throw new Problem('validation', `${field} ${result.message}`, { errors: [{ field, message: result.message }] });
}
