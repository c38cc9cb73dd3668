import { eq, sql } from 'drizzle-orm';
import type { CredentialIssuer } from '../adapters/aws/sts.js';
import type { Db } from '../db/client.js';
import { deliveries, profiles, requests } from '../db/schema.js';
import type { ReconcileReport } from '../jobs/reconciler.js';
import type { RequestEffects } from '../requests/effects.js';
import type { Metrics } from './catalog.js';

/**
 * Counts request lifecycle events where every process already learns of them: after the commit,
 * in the API (create, review, cancel, revoke) and in the worker (activate, end, expire) alike.
 * Metrics never fail the change: a lookup error leaves the counters as they were.
 */
export function observeRequestEffects(effects: RequestEffects, deps: { db: Db; metrics: Metrics }): RequestEffects {
  return {
    record: (tx, change) => effects.record(tx, change),
    recordWithoutWrites: (change) => effects.recordWithoutWrites(change),
    async afterCommit(change) {
      const outcomes = change.events.filter((event) => event.startsWith('request.') && event !== 'request.reminded' && event !== 'request.ending-soon');
      if (outcomes.length > 0) {
        try {
          const [row] =
            change.known === undefined
              ? await deps.db
                  .select({ profile: profiles.name, createdAt: requests.createdAt })
                  .from(requests)
                  .innerJoin(profiles, eq(profiles.id, requests.profileId))
                  .where(eq(requests.id, change.requestId))
              : [{ profile: change.known.profileName, createdAt: change.known.request.createdAt }];
          if (row !== undefined) {
            for (const event of outcomes) {
              const outcome = event.slice('request.'.length);
              deps.metrics.requests.inc({ profile: row.profile, outcome });
              if (outcome === 'approved' || outcome === 'denied') {
                deps.metrics.decisionSeconds.observe({ profile: row.profile, decision: outcome }, (Date.now() - row.createdAt.getTime()) / 1000);
              }
            }
          }
        } catch {
          // The change is committed; a missed count is not worth failing or delaying what follows.
        }
      }
      await effects.afterCommit(change);
    },
  };
}

/** Times every AssumeRole call sent, failed ones included, from when it may be sent. */
export function timeStsCalls(sts: CredentialIssuer, metrics: Metrics): CredentialIssuer {
  return {
    ...sts,
    async assumeRole(input, deadline, sendWhen) {
      let stop: ((labels: { outcome: string }) => void) | undefined;
      const start = () => (stop = metrics.stsCallSeconds.startTimer());
      if (sendWhen === undefined) start();
      else sendWhen.then(start, () => undefined);
      try {
        const credentials = await sts.assumeRole(input, deadline, sendWhen);
        stop?.({ outcome: 'ok' });
        return credentials;
      } catch (error) {
        stop?.({ outcome: 'error' });
        throw error;
      }
    },
  };
}

export function countCatchups(metrics: Metrics, report: ReconcileReport): void {
  metrics.reconcilerCatchups.inc({ work: 'transitions' }, report.transitions);
  metrics.reconcilerCatchups.inc({ work: 'deny-policies' }, report.denyPolicies);
  metrics.reconcilerCatchups.inc({ work: 'deliveries' }, report.deliveries);
}

/**
 * The gauges the API reads from the database when scraped: two grouped counts over indexed
 * columns (requests by status, deliveries by status), so a scrape stays cheap.
 */
export function readGaugesFromDatabase(metrics: Metrics, db: Db, webhookUrls: readonly string[]): void {
  metrics.refreshOnScrape('activeGrants', async () => {
    const rows = await db
      .select({ profile: profiles.name, count: sql<number>`count(*)::int` })
      .from(requests)
      .innerJoin(profiles, eq(profiles.id, requests.profileId))
      .where(eq(requests.status, 'active'))
      .groupBy(profiles.name);
    metrics.activeGrants.reset();
    for (const row of rows) metrics.activeGrants.set({ profile: row.profile }, row.count);
  });
  metrics.refreshOnScrape('deliveriesPending', async () => {
    const rows = await db
      .select({ target: deliveries.target, count: sql<number>`count(*)::int` })
      .from(deliveries)
      .where(eq(deliveries.status, 'pending'))
      .groupBy(deliveries.target);
    metrics.deliveriesPending.reset();
    // Every configured target shows, 0 included, so "stuck" alerts have a series to watch.
    for (const url of webhookUrls) metrics.deliveriesPending.set({ target: targetLabel(url) }, 0);
    for (const row of rows) metrics.deliveriesPending.inc({ target: targetLabel(row.target) }, row.count);
  });
}

/**
 * A delivery target as a label: Slack targets as they are, a webhook URL by its origin only,
 * since paths and queries of webhook URLs often carry secrets (Slack incoming webhooks do).
 */
export function targetLabel(target: string): string {
  if (target.startsWith('slack:')) return target;
  try {
    return `webhook:${new URL(target).host}`;
  } catch {
    return 'webhook:invalid';
  }
}
