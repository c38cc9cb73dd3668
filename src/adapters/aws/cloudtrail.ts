import type * as CloudTrailSdk from '@aws-sdk/client-cloudtrail';
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { TrailEvent } from '../../domain/activity.js';
import { classify } from './errors.js';
import type { AwsClientOptions } from './sts.js';

/** CloudTrail's management events, looked up by access key id (SPEC §13). Failures are StsFailure. */
export interface TrailLookup {
  /**
   * One LookupEvents call (one page, up to 50 events), sent once `whenAllowed` resolves: the
   * caller's rate limiter, awaited when the client is ready, so that loading the SDK or building a
   * region's client (hundreds of milliseconds on a busy machine) never runs between a permit and
   * its call and bunches calls up at CloudTrail.
   */
  lookupPage(
    input: { region: string; accessKeyId: string; startTime: Date; nextToken: string | undefined },
    whenAllowed: () => Promise<void>,
  ): Promise<{ events: TrailEvent[]; nextToken: string | undefined }>;
}

/** CloudTrail through the AWS SDK; the endpoint comes from AWS_ENDPOINT_URL_CLOUDTRAIL or the SDK default. */
export function createTrailLookup(options: AwsClientOptions = {}): TrailLookup {
  // LookupEvents is regional: one client per region, reused for its connections.
  const clients = new Map<string, CloudTrailClient>();
  // The SDK is loaded on first use: a deployment without BREVET_EVIDENCE never pays its memory.
  let sdk: typeof CloudTrailSdk | undefined;
  const clientFor = async (region: string) => {
    sdk ??= await import('@aws-sdk/client-cloudtrail');
    let client = clients.get(region);
    if (client === undefined) {
      // One attempt: the caller's rate limiter must see every call, and a retry would be one it did not count.
      client = new sdk.CloudTrailClient({ region, maxAttempts: 1, requestHandler: { connectionTimeout: 3_000, requestTimeout: options.timeoutMs ?? 5_000, throwOnRequestTimeout: true } });
      clients.set(region, client);
    }
    return { client, sdk };
  };
  return {
    async lookupPage({ region, accessKeyId, startTime, nextToken }, whenAllowed) {
      const { client, sdk } = await clientFor(region);
      await whenAllowed();
      try {
        const output = await client.send(
          new sdk.LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: accessKeyId }],
            StartTime: startTime,
            MaxResults: 50,
            NextToken: nextToken,
          }),
        );
        const events = (output.Events ?? []).flatMap((e): TrailEvent[] =>
          e.EventId === undefined || e.EventTime === undefined
            ? []
            : [{ eventId: e.EventId, eventSource: e.EventSource ?? 'unknown', eventName: e.EventName ?? 'unknown', eventTime: e.EventTime, errorCode: errorCodeOf(e.CloudTrailEvent) }],
        );
        return { events, nextToken: output.NextToken === '' ? undefined : output.NextToken };
      } catch (error) {
        throw classify(error);
      }
    },
  };
}

/** `errorCode` of the CloudTrailEvent JSON string; an unreadable one counts as no error. */
function errorCodeOf(cloudTrailEvent: string | undefined): string | null {
  if (cloudTrailEvent === undefined) return null;
  try {
    const code = (JSON.parse(cloudTrailEvent) as { errorCode?: unknown }).errorCode;
    return typeof code === 'string' ? code : null;
  } catch {
    return null;
  }
}
