/**
 * AWS call failures, classified for the operator. STS and IAM share them: both are reached with
 * Brevet's own credentials through the same SDK, and fail the same ways.
 */
export type AwsFailureKind =
  // Brevet itself cannot call AWS: every profile is affected until an operator fixes it.
  | 'no-credentials'
  | 'expired-credentials'
  | 'invalid-credentials'
  | 'no-region'
  | 'throttled'
  | 'unavailable'
  // AWS refused this call: the profile, its role or its session policy needs fixing.
  | 'access-denied'
  | 'malformed-policy'
  | 'policy-too-large'
  | 'region-disabled'
  | 'rejected';

/** `message` is AWS's or the SDK's text: it names no secret (the SDK never puts one there). */
export class StsFailure extends Error {
  override name = 'StsFailure';
  constructor(
    readonly kind: AwsFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** Error codes of the query protocol (STS, IAM) and their JSON-protocol twins. */
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException']);
const INVALID = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'IncompleteSignature', 'InvalidAccessKeyId']);

export function classify(error: unknown): StsFailure {
  if (error instanceof StsFailure) return error;
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.name ?? '';
  const message = typeof e.message === 'string' ? e.message : 'unknown error';
  // Raised by the SDK before any request is sent.
  if (e.name === 'CredentialsProviderError') return new StsFailure('no-credentials', message);
  if (/^Region is missing/.test(message)) return new StsFailure('no-region', message);

  if (EXPIRED.has(code)) return new StsFailure('expired-credentials', `${code}: ${message}`);
  if (INVALID.has(code)) return new StsFailure('invalid-credentials', `${code}: ${message}`);
  if (code === 'AccessDenied' || code === 'AccessDeniedException') return new StsFailure('access-denied', message);
  if (code.startsWith('MalformedPolicyDocument')) return new StsFailure('malformed-policy', message);
  if (code.startsWith('PackedPolicyTooLarge')) return new StsFailure('policy-too-large', message);
  if (code.startsWith('RegionDisabled')) return new StsFailure('region-disabled', message);
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(code)) return new StsFailure('throttled', message);
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500 || code === 'TimeoutError') return new StsFailure('unavailable', message);
  return new StsFailure('rejected', `${code}: ${message}`);
}
