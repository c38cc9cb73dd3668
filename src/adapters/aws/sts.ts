import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

/** What Brevet asks of STS for one issuance (SPEC §4.1). */
export interface AssumeRoleInput {
  roleArn: string;
  sessionName: string;
  sourceIdentity: string;
  durationSeconds: number;
  tags: Record<string, string>;
  policy: string | undefined;
  externalId: string | null;
  region: string | null;
}

/** Short-lived credentials. They live in memory for one response and are never stored or logged. */
export interface SessionCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  region: string;
}

export type StsFailureKind =
  | 'access-denied'
  | 'malformed-policy'
  | 'policy-too-large'
  | 'region-disabled'
  | 'throttled'
  | 'unavailable'
  | 'rejected';

/** An STS call that failed, classified for the operator; `message` is AWS's text (never contains secrets). */
export class StsFailure extends Error {
  override name = 'StsFailure';
  constructor(
    readonly kind: StsFailureKind,
    message: string,
  ) {
    super(message);
  }
}

export interface CredentialIssuer {
  /** `deadline` aborts the whole call, retries included. */
  assumeRole(input: AssumeRoleInput, deadline?: AbortSignal): Promise<SessionCredentials>;
}

export interface AwsClientOptions {
  /** Default region when a profile names none; the SDK's own (AWS_REGION) when absent. */
  region?: string;
  /** A hard limit per attempt: the SDK's requestTimeout alone only warns (STACK.md). */
  timeoutMs?: number;
  /** Attempts including the first; the SDK retries throttling and 5xx with backoff. */
  maxAttempts?: number;
}

export const AWS_DEFAULT_REGION = 'us-east-1';

/**
 * STS through the AWS SDK. Endpoint, region and Brevet's own credentials come from the SDK's
 * standard configuration (AWS_ENDPOINT_URL_STS, AWS_REGION, the default credential chain).
 */
export function createStsIssuer(options: AwsClientOptions = {}): CredentialIssuer {
  const clients = new Map<string, STSClient>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = new STSClient({
        region,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: options.timeoutMs ?? 5_000, throwOnRequestTimeout: true },
      });
      clients.set(region, client);
    }
    return client;
  };

  return {
    async assumeRole(input, deadline) {
      const region = input.region ?? options.region ?? process.env['AWS_REGION'] ?? AWS_DEFAULT_REGION;
      try {
        const output = await clientFor(region).send(
          new AssumeRoleCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            SourceIdentity: input.sourceIdentity,
            DurationSeconds: input.durationSeconds,
            Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
            Policy: input.policy,
            ExternalId: input.externalId ?? undefined,
          }),
          { abortSignal: deadline },
        );
        const c = output.Credentials;
        if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined || c.SessionToken === undefined || c.Expiration === undefined) {
          throw new StsFailure('rejected', 'STS answered without credentials');
        }
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration, region };
      } catch (error) {
        throw classify(error);
      }
    },
  };
}

export function classify(error: unknown): StsFailure {
  if (error instanceof StsFailure) return error;
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.name ?? '';
  const message = typeof e.message === 'string' ? e.message : 'unknown error';
  if (code === 'AccessDenied' || code === 'AccessDeniedException') return new StsFailure('access-denied', message);
  if (code.startsWith('MalformedPolicyDocument')) return new StsFailure('malformed-policy', message);
  if (code.startsWith('PackedPolicyTooLarge')) return new StsFailure('policy-too-large', message);
  if (code.startsWith('RegionDisabled')) return new StsFailure('region-disabled', message);
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(code)) return new StsFailure('throttled', message);
  const status = e.$metadata?.httpStatusCode;
  if (status === undefined || status >= 500 || code === 'TimeoutError') return new StsFailure('unavailable', message);
  return new StsFailure('rejected', `${code}: ${message}`);
}
