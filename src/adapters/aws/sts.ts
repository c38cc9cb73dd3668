import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { classify, StsFailure } from './errors.js';

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

export interface CredentialIssuer {
  /**
   * `deadline` aborts the whole call, retries included. With `sendWhen`, the request is built and
   * signed at once but nothing reaches AWS until `sendWhen` resolves; if it rejects, nothing is
   * ever sent and the call rejects.
   */
  assumeRole(input: AssumeRoleInput, deadline?: AbortSignal, sendWhen?: Promise<void>): Promise<SessionCredentials>;
}

export interface AwsClientOptions {
  /**
   * Region when a profile names none. Absent: the SDK's own resolution (AWS_REGION, the shared
   * config's `region`, the instance's region); none at all fails as `no-region`, never a guess.
   */
  region?: string;
  /** A hard limit per attempt: the SDK's requestTimeout alone only warns (STACK.md). */
  timeoutMs?: number;
  /** Attempts including the first; the SDK retries throttling and 5xx with backoff. */
  maxAttempts?: number;
}

/**
 * STS through the AWS SDK. Endpoint, region and Brevet's own credentials come from the SDK's
 * standard configuration (AWS_ENDPOINT_URL_STS, AWS_REGION, the default credential chain).
 */
export function createStsIssuer(options: AwsClientOptions = {}): CredentialIssuer {
  // One client per region (the profile's, or the default resolution under ''), reused for its connections.
  const clients = new Map<string, STSClient>();
  const clientFor = (region: string | undefined) => {
    let client = clients.get(region ?? '');
    if (client === undefined) {
      client = new STSClient({
        ...(region === undefined ? {} : { region }),
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: options.timeoutMs ?? 5_000, throwOnRequestTimeout: true },
      });
      clients.set(region ?? '', client);
    }
    return client;
  };

  return {
    async assumeRole(input, deadline, sendWhen) {
      const client = clientFor(input.region ?? options.region);
      const command = new AssumeRoleCommand({
        RoleArn: input.roleArn,
        RoleSessionName: input.sessionName,
        SourceIdentity: input.sourceIdentity,
        DurationSeconds: input.durationSeconds,
        Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })),
        Policy: input.policy,
        ExternalId: input.externalId ?? undefined,
      });
      if (sendWhen !== undefined) {
        sendWhen.catch(() => undefined); // Its rejection is this call's (below), even when the SDK fails before reaching it.
        // The last step before the HTTP handler: the request is serialized and signed, and waits here.
        command.middlewareStack.add(
          (next) => async (args) => {
            await sendWhen;
            return next(args);
          },
          { step: 'deserialize', priority: 'low', name: 'brevetSendWhen' },
        );
      }
      try {
        const output = await client.send(command, { abortSignal: deadline });
        const c = output.Credentials;
        if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined || c.SessionToken === undefined || c.Expiration === undefined) {
          throw new StsFailure('rejected', 'STS answered without credentials');
        }
        const region = await client.config.region();
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration, region };
      } catch (error) {
        throw classify(error);
      }
    },
  };
}
