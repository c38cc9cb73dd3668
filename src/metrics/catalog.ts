import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every brevet_* domain metric (SPEC §9), declared by each process that builds Deps. The API's
 * /metrics serves its own values merged with the workers' (worker-snapshots.ts), so one scrape
 * target lists them all. deploy/prometheus/alerts.yml and deploy/grafana/brevet.json use these
 * names; test/metrics.test.ts keeps the three in step.
 */
export interface Metrics {
  registry: Registry;
  /** Request lifecycle events by profile name: created, approved, denied, activated, cancelled, expired, revoked, ended. */
  requests: Counter<'profile' | 'outcome'>;
  /** Created → approved or denied. */
  decisionSeconds: Histogram<'profile' | 'decision'>;
  /** Requests active now, by profile; read from the database at scrape time (API only). */
  activeGrants: Gauge<'profile'>;
  /** Credential hand-outs: issued, withheld (AWS's expiration did not fit the window) or failed. */
  issuances: Counter<'outcome' | 'error_code'>;
  /** AssumeRole round trips, retries included. */
  stsCallSeconds: Histogram<'outcome'>;
  /** How late a queued job committed its work, measured from when it was due. */
  jobLatenessSeconds: Histogram<'job'>;
  /** Notifications not yet delivered, by target; read from the database at scrape time (API only). */
  deliveriesPending: Gauge<'target'>;
  /** Work the database sweep found due and did (or re-queued) itself: what the queue missed. */
  reconcilerCatchups: Counter<'work'>;
  /** Audit chain verifications (GET /v1/audit/verify) by outcome: ok or broken. */
  chainVerifications: Counter<'outcome'>;
  /** On-call lookups at request creation that failed or ran out of their 3 s (SPEC §12): those requests waited for approvers. */
  onCallFailures: Counter<'provider'>;
  /** Sets how a gauge is refreshed when scraped (the API reads them from the database; a worker never does). */
  refreshOnScrape(gauge: 'activeGrants' | 'deliveriesPending', refresh: () => Promise<void>): void;
}

const SECONDS_FAST = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20];
const SECONDS_LATE = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const SECONDS_HUMAN = [10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600];

export function createMetrics(): Metrics {
  // One registry per Deps, so several apps in one process (tests) never share a counter.
  const registry = new Registry();
  const registers = [registry];
  const refreshers = new Map<string, () => Promise<void>>();
  const refreshed = (gauge: string) => ({ collect: () => refreshers.get(gauge)?.() });
  return {
    refreshOnScrape: (gauge, refresh) => void refreshers.set(gauge, refresh),
    registry,
    requests: new Counter({
      name: 'brevet_requests_total',
      help: 'Request lifecycle events by profile and outcome',
      labelNames: ['profile', 'outcome'],
      registers,
    }),
    decisionSeconds: new Histogram({
      name: 'brevet_request_decision_seconds',
      help: 'Time from a request being created to it being approved or denied',
      labelNames: ['profile', 'decision'],
      buckets: SECONDS_HUMAN,
      registers,
    }),
    activeGrants: new Gauge({
      name: 'brevet_active_grants',
      help: 'Requests whose access window is open now, by profile',
      labelNames: ['profile'],
      registers,
      ...refreshed('activeGrants'),
    }),
    issuances: new Counter({
      name: 'brevet_issuances_total',
      help: 'Credential issuances by outcome (issued, withheld, failed) and error code',
      labelNames: ['outcome', 'error_code'],
      registers,
    }),
    stsCallSeconds: new Histogram({
      name: 'brevet_sts_call_seconds',
      help: 'Duration of STS AssumeRole calls (retries included) by outcome (ok, error)',
      labelNames: ['outcome'],
      buckets: SECONDS_FAST,
      registers,
    }),
    jobLatenessSeconds: new Histogram({
      name: 'brevet_job_lateness_seconds',
      help: 'How long after it was due a queued job committed its work, by job name',
      labelNames: ['job'],
      buckets: SECONDS_LATE,
      registers,
    }),
    deliveriesPending: new Gauge({
      name: 'brevet_deliveries_pending',
      help: 'Notifications waiting to be delivered, by target',
      labelNames: ['target'],
      registers,
      ...refreshed('deliveriesPending'),
    }),
    reconcilerCatchups: new Counter({
      name: 'brevet_reconciler_catchups_total',
      help: 'Due work the database sweep found and handled itself (transitions, deny policies, deliveries)',
      labelNames: ['work'],
      registers,
    }),
    onCallFailures: new Counter({
      name: 'brevet_oncall_lookup_failures_total',
      help: 'On-call lookups at request creation that failed or exceeded their budget; the request waited for approvers instead',
      labelNames: ['provider'],
      registers,
    }),
    chainVerifications: new Counter({
      name: 'brevet_audit_chain_verifications_total',
      help: 'Audit chain verifications by outcome (ok, broken)',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
