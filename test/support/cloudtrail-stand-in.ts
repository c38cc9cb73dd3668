// A local stand-in for CloudTrail LookupEvents, speaking its JSON 1.1 protocol (POST /,
// X-Amz-Target: CloudTrail_20131101.LookupEvents, application/x-amz-json-1.1; timestamps as epoch
// seconds; errors as {"__type","message"}), so tests drive the real SDK client through
// AWS_ENDPOINT_URL_CLOUDTRAIL. The region is read from the SigV4 credential scope, like AWS routes it.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredEvent {
  accessKeyId: string;
  region: string;
  eventSource: string;
  eventName: string;
  eventTime: Date;
  errorCode?: string;
  /** Delivery delay: LookupEvents shows the event once the stand-in's clock reaches this. */
  visibleAt?: Date;
}

export interface CloudTrailStandIn {
  url: string;
  now: () => Date;
  events: StoredEvent[];
  /** Events per page (AWS: at most 50). */
  pageSize: number;
  /** Every call: its region, lookup attribute, NextToken, and when it arrived (wall clock, ms). */
  calls: { region: string; accessKeyId: string | undefined; nextToken: string | undefined; startTime: number | undefined; at: number }[];
  /** Calls refused because more than 2 arrived within one second for the same region (AWS throttles so). */
  throttled: number;
  down: boolean;
  close(): Promise<void>;
}

const TARGETS = new Set(['CloudTrail_20131101.LookupEvents', 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents']);

export async function startCloudTrailStandIn(): Promise<CloudTrailStandIn> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !TARGETS.has(target)) return send(400, { __type: 'UnknownOperationException', message: `Unknown operation ${target}` });
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/cloudtrail\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unknown';
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        LookupAttributes?: { AttributeKey: string; AttributeValue: string }[];
        StartTime?: number;
        NextToken?: string;
        MaxResults?: number;
      };
      const attribute = body.LookupAttributes?.[0];
      const accessKeyId = attribute?.AttributeKey === 'AccessKeyId' ? attribute.AttributeValue : undefined;
      stand.calls.push({ region, accessKeyId, nextToken: body.NextToken, startTime: body.StartTime, at });
      const recent = stand.calls.filter((c) => c.region === region && c.at > at - 1000);
      if (recent.length > 2) {
        stand.throttled += 1;
        return send(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
      }
      if (stand.down) return send(500, { __type: 'InternalServerError', message: 'internal error' });
      if (body.MaxResults !== undefined && (body.MaxResults < 1 || body.MaxResults > 50)) {
        return send(400, { __type: 'InvalidMaxResultsException', message: 'MaxResults must be from 1 to 50' });
      }
      const now = stand.now();
      const matching = stand.events
        .filter((e) => e.region === region && (accessKeyId === undefined || e.accessKeyId === accessKeyId))
        .filter((e) => (e.visibleAt ?? e.eventTime) <= now && (body.StartTime === undefined || e.eventTime.getTime() >= body.StartTime * 1000))
        // The most recent first, as AWS lists them.
        .sort((a, b) => b.eventTime.getTime() - a.eventTime.getTime());
      const size = Math.min(body.MaxResults ?? 50, stand.pageSize);
      const start = body.NextToken === undefined ? 0 : Number(Buffer.from(body.NextToken, 'base64').toString('utf8'));
      const page = matching.slice(start, start + size);
      const more = start + size < matching.length;
      send(200, {
        Events: page.map((e) => {
          const eventId = idOf(e);
          return {
            EventId: eventId,
            EventName: e.eventName,
            ReadOnly: String(e.eventName.startsWith('Get') || e.eventName.startsWith('List') || e.eventName.startsWith('Describe')),
            AccessKeyId: e.accessKeyId,
            EventTime: e.eventTime.getTime() / 1000,
            EventSource: e.eventSource,
            Username: 'brevet-session',
            Resources: [],
            CloudTrailEvent: JSON.stringify({
              eventVersion: '1.09',
              eventID: eventId,
              eventTime: e.eventTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
              eventSource: e.eventSource,
              eventName: e.eventName,
              awsRegion: e.region,
              userIdentity: { type: 'AssumedRole', accessKeyId: e.accessKeyId },
              ...(e.errorCode === undefined ? {} : { errorCode: e.errorCode, errorMessage: 'denied' }),
            }),
          };
        }),
        ...(more ? { NextToken: Buffer.from(String(start + size)).toString('base64') } : {}),
      });
    });
  });
  const ids = new WeakMap<StoredEvent, string>();
  const idOf = (e: StoredEvent) => {
    let id = ids.get(e);
    if (id === undefined) ids.set(e, (id = randomUUID()));
    return id;
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stand: CloudTrailStandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    now: () => new Date(),
    events: [],
    pageSize: 50,
    calls: [],
    throttled: 0,
    down: false,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
  return stand;
}
