import { Type } from 'typebox';

/** RFC 9457 problem document, as every error response of the API. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'Stable problem slug, e.g. `validation`, `self-review`' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    condition: Type.Optional(Type.String({ description: 'For `condition-failed`: which condition' })),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', title: 'Problem' },
);

const problemResponse = {
  description: 'Problem (RFC 9457)',
  content: { 'application/problem+json': { schema: Type.Unsafe<unknown>({ $ref: 'Problem#' }) } },
};

/** Error responses every authenticated route may give; add route-specific ones beside them. */
export function errorResponses(...statuses: number[]): Record<number, typeof problemResponse> {
  const all = new Set([400, 401, 403, 404, 413, 415, 429, 500, 503, ...statuses]);
  return Object.fromEntries([...all].map((status) => [status, problemResponse]));
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) });

export const PageQuery = {
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_-]+$', description: 'nextCursor of the previous page' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
};

/** Plain strings people type: no control characters (tabs and newlines excepted where noted). */
export const SingleLine = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ ...options, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
export const MultiLine = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ ...options, pattern: '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$' });
