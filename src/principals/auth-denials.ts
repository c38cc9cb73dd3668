import type { Logger } from 'pino';
import type { Clock } from '../adapters/clock.js';
import { appendAudit, systemActor, type AuditActor } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';

/** Why an identity was refused at the door; the audit's `details.reason`. */
export type AuthDeniedReason =
  | 'principal-disabled'
  | 'email-linked-to-another-identity'
  | 'email-linked-to-another-slack-user'
  | 'api-key-revoked'
  | 'unknown-api-key'
  | 'invalid-token';

export interface AuthDenial {
  /**
   * The principal the credential belongs to (disabled, or a revoked key of theirs), or the one it
   * was refused a match with; none for a credential that names no principal (an unknown key, a
   * token that does not verify): those are audited with actor `system`.
   */
  principal?: AuditActor;
  /** True when the credential is the principal's own (its key or token); false for a refused match. */
  ownCredential: boolean;
  via: Caller['via'];
  reason: AuthDeniedReason;
  sourceIp: string | null;
  /** What was presented, e.g. the OIDC subject or the Slack user id; never a secret. */
  presented?: Record<string, string>;
}

/**
 * Audits refused authentications as `auth.denied` without letting a flood grow the trail.
 *
 * The first refusal of a kind (principal, channel, reason) is written at once. Further ones within
 * the window are counted, not written; when the window has ended one summary event records how
 * many there were, when, and from which addresses. So a disabled key hammered a million times
 * costs at most two events per window and process, and no refusal goes uncounted.
 */
export interface AuthDenialRecorder {
  record(denial: AuthDenial): Promise<void>;
  /** Writes the summaries of windows that have ended; `all` ends every window (shutdown). */
  flush(all?: boolean): Promise<void>;
  /** Stops the periodic flush and writes what is left. */
  close(): Promise<void>;
}

export const DENIAL_WINDOW_MS = 60_000;
/** Open windows are bounded by the principals that exist; this caps memory all the same. */
const MAX_OPEN_WINDOWS = 10_000;
/** Addresses listed in a summary; beyond them only their number is kept. */
const MAX_LISTED_ADDRESSES = 20;

interface Window {
  first: AuthDenial;
  openedAt: number;
  suppressed: number;
  firstSuppressedAt: number | undefined;
  lastAt: number;
  addresses: Set<string>;
  distinctAddresses: number;
}

function fold(into: Window, from: Window): void {
  into.suppressed += from.suppressed;
  into.firstSuppressedAt = Math.min(into.firstSuppressedAt ?? Infinity, from.firstSuppressedAt ?? Infinity);
  into.lastAt = Math.max(into.lastAt, from.lastAt);
  into.distinctAddresses += from.distinctAddresses;
  for (const address of from.addresses) if (into.addresses.size < MAX_LISTED_ADDRESSES) into.addresses.add(address);
}

export function createAuthDenialRecorder(
  deps: { db: Db; clock: Clock; logger?: Pick<Logger, 'warn'> },
  options: { windowMs?: number; maxOpenWindows?: number } = {},
): AuthDenialRecorder {
  const windowMs = options.windowMs ?? DENIAL_WINDOW_MS;
  const maxOpen = options.maxOpenWindows ?? MAX_OPEN_WINDOWS;
  const windows = new Map<string, Window>();
  let timer: NodeJS.Timeout | undefined;

  const write = (actor: AuditActor, details: Record<string, unknown>, sourceIp: string | null) =>
    deps.db.transaction((tx) => appendAudit(tx, deps.clock, { actor, action: 'auth.denied', sourceIp, details }));

  const detailsOf = (denial: AuthDenial) => ({
    reason: denial.reason,
    via: denial.via,
    ...(denial.principal === undefined ? {} : { principalId: denial.principal.id }),
    ...denial.presented,
  });

  const actorOf = (denial: AuthDenial): AuditActor => (denial.ownCredential && denial.principal !== undefined ? denial.principal : systemActor);

  async function summarise(key: string, window: Window): Promise<void> {
    // Taken out before the write: a concurrent refusal or flush never writes the same summary twice.
    if (windows.get(key) === window) windows.delete(key);
    if (window.suppressed === 0) return;
    try {
      await write(
        actorOf(window.first),
        {
          ...detailsOf(window.first),
          aggregated: true,
          count: window.suppressed,
          from: new Date(window.firstSuppressedAt!).toISOString(),
          to: new Date(window.lastAt).toISOString(),
          sourceIps: [...window.addresses],
          distinctSourceIps: window.distinctAddresses,
        },
        null,
      );
    } catch (error) {
      // Nothing is lost: the count goes back (into the window open now, if any) for the next flush.
      const current = windows.get(key);
      if (current === undefined) windows.set(key, window);
      else fold(current, window);
      throw error;
    }
  }

  async function flush(all = false): Promise<void> {
    const now = deps.clock.now().getTime();
    for (const [key, window] of [...windows]) {
      if (all || now >= window.openedAt + windowMs) await summarise(key, window);
    }
  }

  function keyOf(denial: AuthDenial): string {
    const key = [denial.via, denial.reason, denial.ownCredential ? 'own' : 'match', denial.principal?.id ?? '-'].join('|');
    // Past the cap every new kind shares one window: still counted, still bounded.
    return windows.size >= maxOpen && !windows.has(key) ? 'overflow' : key;
  }

  function startTimer(): void {
    if (timer !== undefined) return;
    timer = setInterval(() => {
      flush().catch((error: unknown) => deps.logger?.warn({ err: error }, 'could not write the auth.denied summaries; retrying'));
    }, Math.max(1_000, windowMs / 4));
    timer.unref();
  }

  return {
    async record(denial) {
      const now = deps.clock.now().getTime();
      let key = keyOf(denial);
      const open = windows.get(key);
      if (open !== undefined && now >= open.openedAt + windowMs) {
        // The refusal itself does not wait on an old summary that cannot be written now.
        await summarise(key, open).catch((error: unknown) => deps.logger?.warn({ err: error }, 'could not write an auth.denied summary; retrying'));
      }
      key = keyOf(denial);
      const window = windows.get(key);
      if (window !== undefined) {
        // Counted synchronously, before any await: concurrent refusals never both open a window.
        window.suppressed += 1;
        window.firstSuppressedAt ??= now;
        window.lastAt = now;
        if (denial.sourceIp !== null && !window.addresses.has(denial.sourceIp)) {
          window.distinctAddresses += 1;
          if (window.addresses.size < MAX_LISTED_ADDRESSES) window.addresses.add(denial.sourceIp);
        }
        return;
      }
      const first = key === 'overflow' ? { ...denial, principal: systemActor, ownCredential: true, presented: { overflow: 'true' } } : denial;
      windows.set(key, { first, openedAt: now, suppressed: 0, firstSuppressedAt: undefined, lastAt: now, addresses: new Set(), distinctAddresses: 0 });
      startTimer();
      try {
        await write(actorOf(first), detailsOf(first), denial.sourceIp);
      } catch (error) {
        // Not audited, so not counted: the next refusal opens the window again and is written.
        windows.delete(key);
        throw error;
      }
    },
    flush,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await flush(true);
    },
  };
}
