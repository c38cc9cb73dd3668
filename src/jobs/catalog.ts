/**
 * The typed job catalog (SPEC §5). Payloads carry ids only — never secrets, never state: every
 * handler re-reads the database, which is the source of truth. Job ids are deterministic, so
 * scheduling the same work twice is harmless.
 */
export const JOB_NAMES = ['activate', 'end', 'expire-pending', 'remind', 'escalate', 'revocation-cleanup', 'ending-soon', 'notify', 'activity'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export type JobPayload = { requestId: string } | { deliveryId: string } | Record<string, never>;

export interface ScheduledJob {
  name: JobName;
  payload: JobPayload;
  /** Not before this moment (a BullMQ delay is a lower bound). */
  runAt: Date;
}

/**
 * `end-req_…`, `notify-dlv_…`: the spec writes `end:<requestId>`, but BullMQ 6 refuses custom
 * ids containing `:` (its key separator), so the parts are joined with `-`. The prefixed ids
 * (`req_`, `dlv_`) keep the split unambiguous even for `expire-pending`.
 */
export function jobId(job: Pick<ScheduledJob, 'name' | 'payload'>): string {
  if ('requestId' in job.payload) return `${job.name}-${job.payload.requestId}`;
  if ('deliveryId' in job.payload) return `${job.name}-${job.payload.deliveryId}`;
  return job.name;
}

/** Webhook deliveries: attempts in all, and the first retry delay (doubling each time). */
export const NOTIFY_ATTEMPTS = 6;
export const NOTIFY_BACKOFF_MS = 2_000;
