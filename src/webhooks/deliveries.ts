import { and, asc, eq, lte, sql } from 'drizzle-orm';
import type { Clock } from '../adapters/clock.js';
import type { WebhookSender } from '../adapters/webhook-sender.js';
import { appendAudit, systemActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { deliveries } from '../db/schema.js';
import { newId } from '../domain/ids.js';
import type { Executor } from '../principals/repo.js';
import { NOTIFY_ATTEMPTS, NOTIFY_BACKOFF_MS } from '../jobs/catalog.js';
import { signatureHeader } from './signature.js';

export type DeliveryRow = typeof deliveries.$inferSelect;

/** Sends one Slack delivery (`slack:messages`, `slack:requester`); throws on failure. */
export type SlackDelivery = (target: string, payload: { requestId: string; event: string }) => Promise<void>;

export interface WebhookConfig {
  urls: readonly string[];
  secret: string | undefined;
  /** First retry delay; doubles per attempt. */
  backoffMs?: number;
}

/** Records one pending delivery to each target; returns their ids for scheduling. */
export async function recordTargetDeliveries(
  db: Executor,
  now: Date,
  targets: readonly string[],
  event: { event: string; requestId: string; payload: Record<string, unknown> },
): Promise<string[]> {
  if (targets.length === 0) return [];
  const rows = targets.map((target) => ({
    id: newId('dlv'),
    target,
    event: event.event,
    requestId: event.requestId,
    status: 'pending' as const,
    payload: event.payload,
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
  }));
  await db.insert(deliveries).values(rows);
  return rows.map((row) => row.id);
}

/** Records one pending webhook delivery per configured URL; returns their ids for scheduling. */
export async function recordDeliveries(
  db: Executor,
  now: Date,
  webhooks: WebhookConfig,
  event: { event: string; requestId: string | null; payload: Record<string, unknown> },
): Promise<string[]> {
  if (webhooks.urls.length === 0) return [];
  const rows = webhooks.urls.map((url) => {
    const id = newId('dlv');
    return {
      id,
      target: url,
      event: event.event,
      requestId: event.requestId,
      status: 'pending' as const,
      payload: { id, event: event.event, occurredAt: now.toISOString(), ...event.payload },
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
    };
  });
  await db.insert(deliveries).values(rows);
  return rows.map((row) => row.id);
}

export type AttemptOutcome = 'delivered' | 'retry' | 'failed' | 'skipped';

/**
 * One delivery attempt, recorded with its result. After the last allowed attempt the delivery
 * is given up and audited (`webhook.failed`; not for `audit.checkpoint`, see below). Idempotent for delivered or failed deliveries.
 */
export async function attemptDelivery(
  deps: { db: Db; clock: Clock; webhookSender: WebhookSender; slackDelivery?: SlackDelivery | undefined },
  webhooks: WebhookConfig,
  deliveryId: string,
): Promise<AttemptOutcome> {
  const [delivery] = await deps.db.select().from(deliveries).where(eq(deliveries.id, deliveryId));
  if (delivery === undefined || delivery.status !== 'pending') return 'skipped';
  const toSlack = delivery.target.startsWith('slack:');
  if (toSlack ? deps.slackDelivery === undefined : webhooks.secret === undefined) return 'skipped';
  const startedAt = deps.clock.now();
  let status: number | null = null;
  let error: string | null = null;
  try {
    if (toSlack) {
      await deps.slackDelivery!(delivery.target, delivery.payload as { requestId: string; event: string });
      status = 200;
    } else {
      const body = JSON.stringify(delivery.payload);
      status = await deps.webhookSender.post(delivery.target, body, {
        'brevet-signature': signatureHeader(webhooks.secret!, body, startedAt),
        'brevet-delivery': delivery.id,
        'brevet-event': delivery.event,
      });
    }
  } catch (e) {
    // Slack failures carry Slack's error code (e.g. ratelimited); network errors their name only.
    error = e instanceof Error ? (e.name === 'SlackFailure' ? `slack: ${e.message}` : e.name) : 'error';
  }
  const ok = status !== null && status >= 200 && status < 300;
  const attemptCount = delivery.attemptCount + 1;
  const permanent = !ok && isPermanentFailure(status, error);
  const outcome: AttemptOutcome = ok ? 'delivered' : permanent || attemptCount >= NOTIFY_ATTEMPTS ? 'failed' : 'retry';
  const backoff = (webhooks.backoffMs ?? NOTIFY_BACKOFF_MS) * 2 ** (attemptCount - 1);
  const now = deps.clock.now();

  await deps.db.transaction(async (tx) => {
    await tx
      .update(deliveries)
      .set({
        status: outcome === 'retry' ? 'pending' : outcome === 'delivered' ? 'delivered' : 'failed',
        attemptCount,
        nextAttemptAt: outcome === 'retry' ? new Date(now.getTime() + backoff) : null,
        attempts: sql`${deliveries.attempts} || ${JSON.stringify([{ at: startedAt.toISOString(), status, error }])}::jsonb`,
        updatedAt: now,
      })
      .where(eq(deliveries.id, delivery.id));
    // A checkpoint's delivery is not audited when it fails: the event would be sealed into a new
    // block, whose checkpoint would be sent to the same failing receiver, and so on, one block a
    // second for as long as the receiver refuses. Its delivery row keeps every attempt.
    if (outcome === 'failed' && delivery.event !== 'audit.checkpoint') {
      await appendAudit(tx, deps.clock, {
        actor: systemActor,
        action: toSlack ? 'slack.failed' : 'webhook.failed',
        requestId: delivery.requestId,
        details: { deliveryId: delivery.id, target: delivery.target, event: delivery.event, attempts: attemptCount, lastStatus: status, lastError: error },
      });
    }
  });
  return outcome;
}

/** Pending deliveries whose next attempt is due, oldest first. */
export async function dueDeliveries(db: Executor, now: Date, limit: number): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.status, 'pending'), lte(deliveries.nextAttemptAt, now)))
    .orderBy(asc(deliveries.nextAttemptAt))
    .limit(limit);
}

/** Slack answers that no retry can change: configuration to fix, not weather to wait out. */
const PERMANENT_SLACK_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'invalid_blocks',
  'msg_too_long',
]);

/**
 * A failure that retrying cannot fix stops at once: a webhook receiver refusing the request
 * (4xx other than timeouts and rate limits), or a Slack error about configuration.
 */
function isPermanentFailure(status: number | null, error: string | null): boolean {
  if (error?.startsWith('slack: ')) return PERMANENT_SLACK_ERRORS.has(error.slice('slack: '.length));
  return status !== null && status >= 400 && status < 500 && ![408, 425, 429].includes(status);
}
