import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetrics } from '../src/metrics/catalog.js';
import { createMetricsSnapshots } from '../src/metrics/worker-snapshots.js';
import { auth, createProfile, issue, openRequest, startHarness, type Harness } from './credentials/helpers.js';
import { TEST_REDIS_URL, deleteKeysWithPrefix, startWorker, testQueuePrefix } from './support/queue.js';
import { until } from './support/server-process.js';

const prefix = testQueuePrefix();
let h: Harness;
let profileName: string;

/** Metric names a PromQL expression uses, histogram and summary suffixes taken off. */
function metricNames(expressions: string[]): string[] {
  const names = expressions.flatMap((expr) => [...expr.matchAll(/\bbrevet_[a-z_]+/g)].map((match) => match[0]));
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, '')))].sort();
}

function ruleExpressions(): string[] {
  const rules = parse(readFileSync(new URL('../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/brevet.json', import.meta.url), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr));
}

async function scrape(): Promise<string> {
  const response = await h.t.http().get('/metrics');
  expect(response.status).toBe(200);
  return response.text;
}

/** The value of one sample, e.g. sample(text, 'brevet_requests_total', { outcome: 'created' }); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

let hooks: Server;

beforeAll(async () => {
  // Until a worker runs (the last test), the flow's webhooks stay pending: the gauge has something to show.
  hooks = createServer((req, res) => req.resume().on('end', () => res.end('ok')));
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/brevet-hook?token=secret`;
  h = await startHarness({
    env: { REDIS_URL: TEST_REDIS_URL, BREVET_WEBHOOK_URLS: hookUrl, BREVET_WEBHOOK_SECRET: 'metrics-test-secret' },
    queuePrefix: prefix,
  });
  // A full flow: created, approved by someone else, active, credentials issued.
  const profile = await createProfile(h.t, { approval: { required: 1, approverGroups: ['sre'] } });
  profileName = profile.name;
  const requester = await h.t.principal({ groups: ['dev'] });
  const approver = await h.t.principal({ groups: ['sre'] });
  const request = await openRequest(h.t, requester.key, profile.name);
  await h.t.http().post(`/v1/requests/${request.id}/reviews`).set(auth(approver.key)).send({ decision: 'approve' }).expect(200);
  expect((await issue(h.t, requester.key, request.id)).status).toBe(200);
  await h.t.http().get('/v1/audit/verify').set(auth(h.t.adminKey)).expect(200);
}, 60_000);

afterAll(async () => {
  await h?.close();
  hooks?.close();
  await deleteKeysWithPrefix(prefix);
});

describe('/metrics after a full request flow', () => {
  it('declares every brevet_* metric the alert rules and the dashboard use', async () => {
    const text = await scrape();
    const declared = new Set([...text.matchAll(/^# TYPE (brevet_[a-z_]+) /gm)].map((match) => match[1]));
    const used = metricNames([...ruleExpressions(), ...dashboardExpressions()]);
    expect(used).toEqual(expect.arrayContaining(['brevet_deliveries_pending', 'brevet_job_lateness_seconds', 'brevet_sts_call_seconds']));
    expect(used.filter((name) => !declared.has(name))).toEqual([]);
  });

  it('counts the flow: lifecycle events by profile, time to decision, the open grant, the issuance, the STS call, the verification', async () => {
    const text = await scrape();
    for (const outcome of ['created', 'approved', 'activated']) {
      expect(sample(text, 'brevet_requests_total', { profile: profileName, outcome }), outcome).toBe(1);
    }
    expect(sample(text, 'brevet_request_decision_seconds_count', { profile: profileName, decision: 'approved' })).toBe(1);
    expect(sample(text, 'brevet_active_grants', { profile: profileName })).toBe(1);
    expect(sample(text, 'brevet_issuances_total', { outcome: 'issued', error_code: '' })).toBe(1);
    expect(sample(text, 'brevet_sts_call_seconds_count', { outcome: 'ok' })).toBe(1);
    expect(sample(text, 'brevet_audit_chain_verifications_total', { outcome: 'ok' })).toBe(1);
    // The webhook URL's path and query (often a secret) never become a label.
    expect(sample(text, 'brevet_deliveries_pending', { target: `webhook:127.0.0.1:${(hooks.address() as AddressInfo).port}` })).toBeGreaterThan(0);
    expect(text).not.toContain('token=secret');
  });
});

describe('worker-observed metrics', () => {
  it("a worker's numbers reach the API's /metrics through Redis", async () => {
    const worker = createMetrics();
    worker.reconcilerCatchups.inc({ work: 'transitions' }, 3);
    worker.jobLatenessSeconds.observe({ job: 'end' }, 0.2);
    const snapshots = createMetricsSnapshots(TEST_REDIS_URL, prefix);
    await snapshots.publishEvery(worker.registry).stop();
    snapshots.close();
    const text = await scrape();
    expect(sample(text, 'brevet_reconciler_catchups_total', { work: 'transitions' })).toBe(3);
    expect(sample(text, 'brevet_job_lateness_seconds_count', { job: 'end' })).toBe(1);
  });

  it('a queued job records how late it committed', async () => {
    const before = sample(await scrape(), 'brevet_job_lateness_seconds_count', { job: 'notify' }) ?? 0;
    const worker = startWorker(h.t, prefix, { metrics: h.t.deps.metrics });
    try {
      // The flow's pending webhook deliveries are queued `notify` jobs, due when they were recorded.
      await until(async () => ((sample(await scrape(), 'brevet_job_lateness_seconds_count', { job: 'notify' }) ?? 0) > before ? true : undefined), 15_000, 'a notify job to be observed');
    } finally {
      await worker.close();
    }
  });
});
