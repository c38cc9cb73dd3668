import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

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
 * PostgreSQL text and jsonb cannot hold U+0000: such a value would fail at the database as a
 * 500. Refused here, for every body and field, as the 400 it is. Returns the offending path.
 */
export function findNulCharacter(value: unknown, path = '/body'): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${path}/${key}`;
    const found = findNulCharacter(child, `${path}/${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}
