/**
 * The typed job catalog (SPEC §5). Payloads carry ids only — never secrets, never state: every
 * handler re-reads the database, which is the source of truth. Job ids are deterministic, so
 * scheduling the same work twice is harmless.
 */
export const JOB_NAMES = ['activate', 'end', 'expire-pending', 'remind', 'revocation-cleanup', 'notify', 'reconcile'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export type JobPayload = { requestId: string } | { deliveryId: string } | Record<string, never>;

export interface ScheduledJob {
  name: JobName;
  payload: JobPayload;
  /** Not before this moment (a BullMQ delay is a lower bound). */
  runAt: Date;
}

export function jobId(job: Pick<ScheduledJob, 'name' | 'payload'>): string {
  if ('requestId' in job.payload) return `${job.name}:${job.payload.requestId}`;
  if ('deliveryId' in job.payload) return `${job.name}:${job.payload.deliveryId}`;
  return job.name;
}

/** Webhook deliveries: attempts in all, and the first retry delay (doubling each time). */
export const NOTIFY_ATTEMPTS = 6;
export const NOTIFY_BACKOFF_MS = 2_000;
