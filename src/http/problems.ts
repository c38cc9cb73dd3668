/**
 * The closed set of problems Brevet answers with (RFC 9457). The `type` slug is stable and
 * part of the public contract; clients switch on it, never on the detail text.
 */
export const problemCatalog = {
  validation: { status: 400, title: 'The request is not valid' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'Not allowed' },
  'self-review': { status: 403, title: 'No one reviews their own request' },
  'not-eligible': { status: 403, title: 'Not eligible' },
  'condition-failed': { status: 403, title: 'A condition of the profile is not met' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'request-timeout': { status: 408, title: 'The request was not received in time' },
  conflict: { status: 409, title: 'Conflict' },
  'invalid-transition': { status: 409, title: 'The request is not in a state that allows this' },
  'already-reviewed': { status: 409, title: 'Already reviewed' },
  'window-too-short': { status: 409, title: 'Less than 900 seconds remain in the window' },
  'payload-too-large': { status: 413, title: 'The body is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  'headers-too-large': { status: 431, title: 'The request headers are too large' },
  internal: { status: 500, title: 'Internal error' },
  'upstream-sts': { status: 502, title: 'AWS refused the call' },
  unavailable: { status: 503, title: 'Temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof problemCatalog;

export interface FieldError {
  /** JSON pointer-ish path of the offending field, e.g. `/body/durationSeconds`. */
  field: string;
  message: string;
}

/** The one error class of the application. Its message is the public detail: never put secrets in it. */
export class Problem extends Error {
  readonly status: number;

  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly extra: { errors?: FieldError[]; condition?: string } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.status = problemCatalog[type].status;
  }
}

export interface ProblemBody {
  type: ProblemType;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  condition?: string;
}

export function problemBody(problem: Problem, instance?: string): ProblemBody {
  return {
    type: problem.type,
    title: problemCatalog[problem.type].title,
    status: problem.status,
    detail: problem.detail,
    ...(instance === undefined ? {} : { instance }),
    ...problem.extra,
  };
}
