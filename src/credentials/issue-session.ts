import type { Clock } from '../adapters/clock.js';
import { FederationFailure, type ConsoleSignIn } from '../adapters/aws/federation.js';
import { StsFailure } from '../adapters/aws/errors.js';
import type { CredentialIssuer, SessionCredentials } from '../adapters/aws/sts.js';
import { appendAudit, auditEventsJson, type AuditEntry } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { MIN_SESSION_SECONDS } from '../domain/profile.js';
import { consoleSessionSeconds, expirationVerdict, STS_CALL_DEADLINE_SECONDS, type ExpirationVerdict } from '../domain/session-duration.js';
import { Problem } from '../http/problems.js';
import type { Metrics } from '../metrics/catalog.js';
import { actorOf } from '../requests/access.js';
import { lockRequest, updateRequest } from '../requests/repo.js';
import { planIssuance, type Plan } from './plan-issuance.js';
import { completeIssuance, completeIssuedIfActive, type IssuanceContext } from './repo.js';
import { stsProblem } from './sts-problems.js';

export interface IssueDeps {
  db: Db;
  clock: Clock;
  sts: CredentialIssuer;
  consoleSignIn: ConsoleSignIn;
  /** Brevet runs on role credentials (BREVET_ROLE_CHAINING): getSigninToken then takes no SessionDuration. */
  roleChaining: boolean;
  metrics: Pick<Metrics, 'issuances'>;
}

/** STS credentials for an active request, by its requester (SPEC §3 rules 3–5, §4.1, §4.2). */
export function issueCredentials(deps: IssueDeps, caller: Caller, requestId: string, format: string, firstRead?: FirstRead): Promise<SessionCredentials> {
  return issueSession(deps, caller, requestId, 'credentials', format, async (credentials) => credentials, firstRead);
}

/**
 * A console sign-in URL for an active request (SPEC §4.3): one STS session exchanged for a
 * sign-in token. The console session outlives the credentials it is made from, so its length
 * (SessionDuration) is the time left in the window. With role credentials AWS refuses
 * SessionDuration, and the console session then lasts as long as the credentials, which end
 * by the window end too. Credentials whose exchange failed were handed to no one: the issuance
 * is recorded as failed.
 */
export function consoleSignInUrl(deps: IssueDeps, caller: Caller, requestId: string, firstRead?: FirstRead): Promise<{ url: string; expiration: Date }> {
  return issueSession(deps, caller, requestId, 'console', 'console', async (credentials, plan) => {
    const sessionSeconds = consoleSessionSeconds(deps.clock.now(), plan.endsAt);
    if (sessionSeconds === null) {
      throw new HandOutFailed(
        new Problem('window-too-short', `less than ${MIN_SESSION_SECONDS} s remained in the window once AWS answered, and a console session lasts at least that long`),
        'window-too-short',
      );
    }
    try {
      const url = await deps.consoleSignIn.signInUrl(credentials, 'brevet', deps.roleChaining ? undefined : sessionSeconds);
      return { url, expiration: credentials.expiration };
    } catch (error) {
      if (!(error instanceof FederationFailure)) throw error;
      throw new HandOutFailed(new Problem('upstream-sts', `${error.message}; check BREVET_FEDERATION_URL`), `console sign-in: ${error.message}`);
    }
  }, firstRead);
}

/** The request's issuance context, already being read (src/http/read-ahead.ts): the plan's first read. */
type FirstRead = Promise<IssuanceContext | undefined>;

/** The credentials exist but could not be turned into what the caller asked for. */
class HandOutFailed extends Error {
  constructor(
    readonly problem: Problem,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * 1. Plan: everything is checked on one read and the issuance written as `pending` by one
 *    statement, if nothing changed meanwhile (plan-issuance.ts).
 * 2. STS, outside any transaction, aborted after STS_CALL_DEADLINE_SECONDS (session-duration.ts);
 *    the request is prepared during step 1's write and sent once it committed.
 * 3. What AWS answered is checked against the window, then turned into what the caller asked
 *    for (`handOut`, e.g. the federation exchange), still outside any transaction.
 * 4. A second write completes the issuance and audits it, under the request's row lock: one
 *    statement when the request is still active, else a transaction in which, the request having
 *    been revoked or cancelled in between, the credentials are recorded but not handed out.
 */
async function issueSession<T>(
  deps: IssueDeps,
  caller: Caller,
  requestId: string,
  kind: Plan['kind'],
  format: string,
  handOut: (credentials: SessionCredentials, plan: Plan) => Promise<T>,
  firstRead: FirstRead | undefined,
): Promise<T> {
  // The SDK builds and signs the AssumeRole request (most of its CPU per call) while PostgreSQL
  // writes the pending issuance, and sends it only once that write committed (SPEC §4.1): a plan
  // whose write did not land sends nothing. It starts on the next turn of the event loop, once
  // the write's statement went out.
  let call: Promise<SessionCredentials> | undefined;
  const plan = await planIssuance(deps, caller, requestId, kind, format, (planned, written) => {
    const sendWhen = written.then((landed) => {
      if (!landed) throw new Error('the pending issuance was not written');
    });
    sendWhen.catch(() => undefined); // Handled by the call below, which may start after it settled.
    call = new Promise((resolve) => setImmediate(resolve)).then(() =>
      deps.sts.assumeRole(planned.assumeRole, AbortSignal.timeout(STS_CALL_DEADLINE_SECONDS * 1000), sendWhen),
    );
    call.catch(() => undefined); // A dropped plan's call fails unsent; the written plan's is awaited below.
  }, firstRead);

  let credentials: SessionCredentials;
  try {
    credentials = await call!;
  } catch (error) {
    await recordFailure(deps, caller, plan, error instanceof StsFailure ? `${error.kind}: ${error.message}` : 'unexpected error');
    deps.metrics.issuances.inc({ outcome: 'failed', error_code: error instanceof StsFailure ? error.kind : 'unexpected' });
    throw error instanceof StsFailure ? stsProblem(error) : error;
  }

  // A session cut off at the window end by its policy can do nothing after endsAt, whatever STS
  // set as its expiration: it is handed out expiring then, so clients refresh in time.
  const verdict = plan.cutOffAtWindowEnd ? 'within-window' : expirationVerdict(credentials.expiration, plan.endsAt, plan.assumeRole.durationSeconds, deps.clock.now());
  let result: T | undefined;
  if (verdict === 'within-window') {
    try {
      result = await handOut(plan.cutOffAtWindowEnd ? { ...credentials, expiration: earliest(credentials.expiration, plan.endsAt) } : credentials, plan);
    } catch (error) {
      // Whatever went wrong, the credentials were handed to no one: never leave the issuance pending.
      await recordFailure(deps, caller, plan, error instanceof HandOutFailed ? error.reason : 'unexpected error while handing out', credentials);
      deps.metrics.issuances.inc({ outcome: 'failed', error_code: 'hand-out' });
      throw error instanceof HandOutFailed ? error.problem : error;
    }
  }

  const withheld = await recordIssued(deps, caller, plan, credentials, verdict);
  deps.metrics.issuances.inc(withheld === null ? { outcome: 'issued', error_code: '' } : { outcome: 'withheld', error_code: withheld.type });
  // Thrown after the commit: throwing inside the transaction would roll back the record of
  // credentials that exist in AWS (issuance left `pending`, no audit event of them).
  if (withheld !== null) throw withheld;
  return result as T;
}

const earliest = (a: Date, b: Date) => (a.getTime() <= b.getTime() ? a : b);

const withheldProblem = {
  'window-ran-out': () =>
    new Problem(
      'window-too-short',
      `AWS answered too slowly: the session it started would have outlived the window, so the credentials were withheld; ask again`,
    ),
  'aws-clock-ahead': () => new Problem('upstream-sts', "AWS set the session's expiration past the window end (AWS's clock is ahead of Brevet's); the credentials were withheld"),
} as const;

/** Completes the issuance as issued and audits it; returns the problem to answer when the credentials are withheld. */
async function recordIssued(deps: IssueDeps, caller: Caller, plan: Plan, credentials: SessionCredentials, verdict: ExpirationVerdict): Promise<Problem | null> {
  const event = (withheld: { reason: string } | null): AuditEntry => ({
    actor: actorOf(caller),
    action: 'credentials.issued',
    requestId: plan.requestId,
    profileId: plan.profileId,
    sourceIp: caller.sourceIp,
    details: {
      issuanceId: plan.issuanceId,
      kind: plan.kind,
      format: plan.format,
      accessKeyId: credentials.accessKeyId,
      sessionName: plan.assumeRole.sessionName,
      sourceIdentity: plan.assumeRole.sourceIdentity,
      roleArn: plan.assumeRole.roleArn,
      durationSeconds: plan.assumeRole.durationSeconds,
      expiration: credentials.expiration.toISOString(),
      ...(plan.cutOffAtWindowEnd ? { cutOffAt: plan.endsAt.toISOString() } : {}),
      ...(withheld === null ? {} : { withheld: true, reason: withheld.reason }),
    },
  });
  // The usual case, credentials within the window for a request still active: one statement,
  // which writes nothing unless the request is active under its row lock.
  if (verdict === 'within-window') {
    const issuance = { requestId: plan.requestId, issuanceId: plan.issuanceId, accessKeyId: credentials.accessKeyId, expiresAt: credentials.expiration };
    if (await completeIssuedIfActive(deps.db, { ...issuance, completedAt: deps.clock.now() }, auditEventsJson([event(null)], deps.clock))) return null;
  }
  return deps.db.transaction(async (tx) => {
    const request = (await lockRequest(tx, plan.requestId))!;
    await completeIssuance(tx, plan.issuanceId, {
      status: 'issued',
      accessKeyId: credentials.accessKeyId,
      expiresAt: credentials.expiration,
      completedAt: deps.clock.now(),
    });
    const problem =
      verdict !== 'within-window'
        ? withheldProblem[verdict]()
        : request.status !== 'active'
          ? new Problem('invalid-transition', `the request is ${request.status}`)
          : null;
    if (problem !== null && request.denyPolicyStatus !== null && (request.revocationCleanupAt ?? new Date(0)) < credentials.expiration) {
      // The deny statement must outlive this credential too.
      await updateRequest(tx, plan.requestId, { revocationCleanupAt: credentials.expiration });
    }
    await appendAudit(
      tx,
      deps.clock,
      event(problem === null ? null : { reason: verdict === 'within-window' ? `the request became ${request.status} during issuance` : verdict }),
    );
    return problem;
  });
}

/**
 * The issuance failed: STS refused (no credentials exist), or the credentials AWS issued could
 * not be handed out (`credentials` given: their key id and expiry are kept, never the secret).
 */
async function recordFailure(deps: IssueDeps, caller: Caller, plan: Plan, error: string, credentials?: SessionCredentials): Promise<void> {
  await deps.db.transaction(async (tx) => {
    await completeIssuance(tx, plan.issuanceId, {
      status: 'failed',
      error,
      completedAt: deps.clock.now(),
      ...(credentials === undefined ? {} : { accessKeyId: credentials.accessKeyId, expiresAt: credentials.expiration }),
    });
    await appendAudit(tx, deps.clock, {
      actor: actorOf(caller),
      action: 'credentials.failed',
      requestId: plan.requestId,
      profileId: plan.profileId,
      sourceIp: caller.sourceIp,
      details: {
        issuanceId: plan.issuanceId,
        kind: plan.kind,
        roleArn: plan.assumeRole.roleArn,
        error,
        ...(credentials === undefined ? {} : { accessKeyId: credentials.accessKeyId, expiration: credentials.expiration.toISOString(), handedOut: false }),
      },
    });
  });
}
