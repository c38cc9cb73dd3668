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
