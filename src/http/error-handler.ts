import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem, problemBody, type FieldError, type ProblemType } from './problems.js';

const PROBLEM_JSON = 'application/problem+json';

/** Installs the one place where any error becomes a problem document. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) {
      // The cause is logged with the request id; the client gets a fixed message.
      request.log.error({ err: error }, 'request failed');
    } else if (!(error instanceof Problem)) {
      request.log.info({ code: (error as FastifyError).code, detail: problem.detail }, 'request refused');
    }
    return reply.status(problem.status).type(PROBLEM_JSON).send(problemBody(problem, request.url.split('?')[0]));
  });

  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type(PROBLEM_JSON)
      .send(problemBody(new Problem('not-found', `no route ${request.method} ${request.url.split('?')[0]}`))),
  );
}

/**
 * Errors the router raises before any route runs (Fastify's `frameworkErrors`): a path that is
 * not valid percent-encoding or a path parameter longer than the router takes. Without this,
 * Fastify answers them with its own JSON, not a problem document.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = frameworkProblem(error);
  request.log.info({ code: error.code, detail: problem.detail }, 'request refused');
  return reply.status(problem.status).type(PROBLEM_JSON).send(problemBody(problem, request.url.split('?')[0]));
}

function frameworkProblem(error: FastifyError): Problem {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return fieldProblem('/params', 'the path is not valid percent-encoded UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return fieldProblem('/params', 'a path parameter is longer than any Brevet accepts');
    default:
      return toProblem(error);
  }
}

export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error;
  const fastifyError = error as FastifyError;
  if (Array.isArray(fastifyError.validation)) return validationProblem(fastifyError);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem('payload-too-large', 'the body is larger than this endpoint accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new Problem('unsupported-media-type', 'send the body as application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return fieldProblem('/body', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return fieldProblem('/body', 'the Content-Length does not match the body');
  }
  const status = fastifyError.statusCode;
  if (error instanceof SyntaxError || (status === 400 && /prototype|constructor|JSON/i.test(fastifyError.message))) {
    // secure-json-parse refuses __proto__ and constructor.prototype keys with a SyntaxError.
    return fieldProblem('/body', 'the body is not acceptable JSON (forbidden keys or syntax)');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) return new Problem(statusType(status), 'the request was refused');
  return new Problem('internal', 'an internal error occurred; it has been logged');
}

function statusType(status: number): ProblemType {
  const byStatus: Record<number, ProblemType> = {
    401: 'unauthenticated',
    403: 'forbidden',
    404: 'not-found',
    405: 'method-not-allowed',
    409: 'conflict',
    413: 'payload-too-large',
    415: 'unsupported-media-type',
    429: 'rate-limited',
  };
  return byStatus[status] ?? 'validation';
}

function fieldProblem(field: string, message: string): Problem {
  return new Problem('validation', `${field}: ${message}`, { errors: [{ field, message }] });
}

/** Names the offending field as a pointer into the request (`/body/durationSeconds`). */
function validationProblem(error: FastifyError): Problem {
  const part = error.validationContext ?? 'body';
  const errors: FieldError[] = (error.validation ?? []).map((issue) => {
    const params = issue.params as Record<string, unknown>;
    const extra = params['additionalProperty'] ?? params['missingProperty'];
    const field = `/${part}${issue.instancePath}${typeof extra === 'string' ? `/${extra}` : ''}`;
    const message =
      typeof params['additionalProperty'] === 'string' ? 'is not a known field' : (issue.message ?? 'is not valid');
    return { field, message };
  });
  const first = errors[0] ?? { field: `/${part}`, message: 'is not valid' };
  return new Problem('validation', `${first.field} ${first.message}`, { errors });
}
