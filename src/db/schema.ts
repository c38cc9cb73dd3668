import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  customType,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const timestamps = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** A person (OIDC or admin-created) or a service account. Emails are stored canonical (trimmed, lower case). */
export const principals = pgTable(
  'principals',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['person', 'service'] }).notNull(),
    email: text('email'),
    /** `<issuer> <sub>` of the OIDC identity linked to this principal. */
    oidcSubject: text('oidc_subject'),
    displayName: text('display_name').notNull(),
    groups: text('groups').array().notNull().default(sql`'{}'::text[]`),
    slackUserId: text('slack_user_id'),
    disabled: boolean('disabled').notNull().default(false),
    createdAt: timestamps('created_at').notNull(),
    updatedAt: timestamps('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('principals_email_key').on(t.email),
    uniqueIndex('principals_oidc_subject_key').on(t.oidcSubject),
    uniqueIndex('principals_slack_user_id_key').on(t.slackUserId),
    check('principals_kind_check', sql`${t.kind} in ('person', 'service')`),
    // A service account is reached by its API keys only (domain/identity.ts matchableByIdentity):
    // it holds nothing a sign-in or a Slack user could be matched on.
    check(
      'principals_service_identity_check',
      sql`${t.kind} = 'person' or (${t.email} is null and ${t.oidcSubject} is null and ${t.slackUserId} is null)`,
    ),
  ],
);

/** API keys are stored as SHA-256 of the key: the key is 256 random bits, so a slow hash adds nothing. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    principalId: text('principal_id')
      .notNull()
      .references(() => principals.id),
    name: text('name').notNull(),
    keyHash: text('key_hash').notNull(),
    createdAt: timestamps('created_at').notNull(),
    lastUsedAt: timestamps('last_used_at'),
    revokedAt: timestamps('revoked_at'),
  },
  (t) => [uniqueIndex('api_keys_key_hash_key').on(t.keyHash), index('api_keys_principal_idx').on(t.principalId)],
);

export const profiles = pgTable(
  'profiles',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    currentVersion: integer('current_version').notNull(),
    createdAt: timestamps('created_at').notNull(),
    updatedAt: timestamps('updated_at').notNull(),
    deletedAt: timestamps('deleted_at'),
  },
  (t) => [uniqueIndex('profiles_name_key').on(t.name)],
);

/** Every change of a profile is a new immutable version; requests point at the version they were evaluated under. */
export const profileVersions = pgTable(
  'profile_versions',
  {
    profileId: text('profile_id')
      .notNull()
      .references(() => profiles.id),
    version: integer('version').notNull(),
    definition: jsonb('definition').notNull(),
    /** Access Analyzer ValidatePolicy findings on the session policy (not ERRORs: those refuse the save); null when not checked. */
    policyFindings: jsonb('policy_findings'),
    createdBy: text('created_by').notNull(),
    createdAt: timestamps('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.profileId, t.version] })],
);

export const requestStatuses = ['pending', 'approved', 'active', 'denied', 'cancelled', 'expired', 'ended', 'revoked'] as const;

export const requestKinds = ['access', 'extension'] as const;

export const requests = pgTable(
  'requests',
  {
    id: text('id').primaryKey(),
    /** `extension`: a record asking to move its parent's window end (SPEC §12); never a grant itself. */
    kind: text('kind', { enum: requestKinds }).notNull().default('access'),
    /** The active request an extension extends. */
    parentId: text('parent_id').references((): AnyPgColumn => requests.id),
    profileId: text('profile_id').notNull(),
    profileVersion: integer('profile_version').notNull(),
    requesterId: text('requester_id')
      .notNull()
      .references(() => principals.id),
    status: text('status', { enum: requestStatuses }).notNull(),
    durationSeconds: integer('duration_seconds').notNull(),
    justification: text('justification').notNull(),
    ticket: text('ticket'),
    scope: jsonb('scope'),
    /** Requested start for scheduled access; otherwise set when the window opens. */
    startsAt: timestamps('starts_at'),
    endsAt: timestamps('ends_at'),
    approvalsRequired: integer('approvals_required').notNull(),
    breakGlass: boolean('break_glass').notNull().default(false),
    pendingExpiresAt: timestamps('pending_expires_at').notNull(),
    remindAt: timestamps('remind_at'),
    remindedAt: timestamps('reminded_at'),
    /** When the request left `pending` (any way); escalation tiers join only while it is pending (SPEC §12). */
    decidedAt: timestamps('decided_at'),
    /** When the next escalation tier is due to be announced; null when none is left. */
    escalateAt: timestamps('escalate_at'),
    /** How many escalation tiers were announced (audited `request.escalated`). */
    escalatedTiers: integer('escalated_tiers').notNull().default(0),
    /** Set once the requester was told the window ends soon (SPEC §8), so it is said once. */
    endingNoticeAt: timestamps('ending_notice_at'),
    revokedReason: text('revoked_reason'),
    /**
     * deny-policy revocation (SPEC §4.4): `pending` until the deny statement is on the role,
     * `applied` while it is, `removed` once the cleanup took it off after the last credential expired,
     * `failed` when it cannot be placed (the role is not in Brevet's account).
     */
    denyPolicyStatus: text('deny_policy_status', { enum: ['pending', 'applied', 'removed', 'failed'] }),
    /** When the deny statement may be removed: the latest expiration of the request's credentials. */
    revocationCleanupAt: timestamps('revocation_cleanup_at'),
    /**
     * Set when this request's Deny could not fit on the role even merged with the others: its
     * revocation then denied every Brevet session on the role issued before this moment
     * (domain/deny-policy.ts sweepStatement). Kept while the request's deny policy is `applied`.
     */
    denySweptBefore: timestamps('deny_swept_before'),
    /** The sensitive-access check made at creation (SPEC §13: domain/evidence.ts Evidence); null when off. */
    evidence: jsonb('evidence'),
    /** The profile's Slack channel at creation; null means direct messages to approvers. */
    slackChannel: text('slack_channel'),
    /** The Slack messages that show this request, updated in place as it changes: [{ channel, ts }]. */
    slackMessages: jsonb('slack_messages').notNull().default(sql`'[]'::jsonb`),
    /**
     * How many renders of the Slack messages were claimed: each message sync takes the next number
     * before it calls Slack, and a sync that finds a higher one after its calls renders again, so an
     * older render that reached Slack last never stays (src/slack/notify-slack.ts).
     */
    slackRender: integer('slack_render').notNull().default(0),
    /** While set and in the future, one message sync is posting this request's messages; no other posts. */
    slackPostingUntil: timestamps('slack_posting_until'),
    createdAt: timestamps('created_at').notNull(),
    updatedAt: timestamps('updated_at').notNull(),
  },
  (t) => [
    check(
      'requests_status_check',
      sql`${t.status} in ('pending', 'approved', 'active', 'denied', 'cancelled', 'expired', 'ended', 'revoked')`,
    ),
    index('requests_requester_idx').on(t.requesterId, t.createdAt, t.id),
    index('requests_status_idx').on(t.status, t.createdAt, t.id),
    index('requests_created_idx').on(t.createdAt, t.id),
    index('requests_parent_idx').on(t.parentId),
    check('requests_kind_check', sql`${t.kind} in ('access', 'extension')`),
    check('requests_parent_check', sql`(${t.kind} = 'extension') = (${t.parentId} is not null)`),
  ],
);

/** One approver's decision. The unique key is what makes "each approver counts once" hold under races. */
export const reviews = pgTable(
  'reviews',
  {
    id: text('id').primaryKey(),
    requestId: text('request_id')
      .notNull()
      .references(() => requests.id),
    reviewerId: text('reviewer_id')
      .notNull()
      .references(() => principals.id),
    decision: text('decision', { enum: ['approve', 'deny'] }).notNull(),
    comment: text('comment'),
    channel: text('channel', { enum: ['api', 'slack'] }).notNull(),
    postHoc: boolean('post_hoc').notNull().default(false),
    createdAt: timestamps('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('reviews_request_reviewer_key').on(t.requestId, t.reviewerId),
    check('reviews_decision_check', sql`${t.decision} in ('approve', 'deny')`),
    check('reviews_channel_check', sql`${t.channel} in ('api', 'slack')`),
  ],
);

/** A retried POST /v1/requests with the same key returns the first answer instead of creating a second request. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    principalId: text('principal_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    requestId: text('request_id').notNull(),
    createdAt: timestamps('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.principalId, t.key] })],
);

/**
 * One AssumeRole (or console sign-in) made for a request. Written as `pending` before STS is called,
 * completed or failed after, so a crash in between leaves a trace. Never holds the secret or token.
 */
export const issuances = pgTable(
  'issuances',
  {
    id: text('id').primaryKey(),
    requestId: text('request_id')
      .notNull()
      .references(() => requests.id),
    kind: text('kind', { enum: ['credentials', 'console'] }).notNull(),
    status: text('status', { enum: ['pending', 'issued', 'failed'] }).notNull(),
    sessionName: text('session_name').notNull(),
    sourceIdentity: text('source_identity').notNull(),
    accessKeyId: text('access_key_id'),
    expiresAt: timestamps('expires_at'),
    sourceIp: text('source_ip'),
    error: text('error'),
    createdAt: timestamps('created_at').notNull(),
    completedAt: timestamps('completed_at'),
  },
  (t) => [
    index('issuances_request_idx').on(t.requestId),
    check('issuances_status_check', sql`${t.status} in ('pending', 'issued', 'failed')`),
  ],
);

/**
 * Access Analyzer CheckAccessNotGranted answers by policy content (SPEC §13): a check is billed per
 * call, and the same policy and action always get the same answer, so a busy profile asks once.
 */
export const policyChecks = pgTable(
  'policy_checks',
  {
    /** SHA-256 (hex) of the policy document's canonical JSON. */
    policyHash: text('policy_hash').notNull(),
    action: text('action').notNull(),
    /** FAIL: the policy may grant the action. */
    mayGrant: boolean('may_grant').notNull(),
    checkedAt: timestamps('checked_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.policyHash, t.action] })],
);

/**
 * What was done with a request's credentials, from CloudTrail, once its access ended (SPEC §13).
 * Written in the transaction that ended or revoked a request with issued credentials; each pass
 * of the `activity` job rewrites the counts from everything it found.
 */
export const activityReports = pgTable(
  'activity_reports',
  {
    requestId: text('request_id')
      .primaryKey()
      .references(() => requests.id),
    status: text('status', { enum: ['pending', 'complete', 'incomplete'] }).notNull(),
    /** When access ended: the revocation (deny-policy) or the last credential's expiration. */
    endedAt: timestamps('ended_at').notNull(),
    /** Set when the request was revoked: a deny policy ends its sessions then. */
    revokedAt: timestamps('revoked_at'),
    nextPassAt: timestamps('next_pass_at'),
    passes: integer('passes').notNull().default(0),
    lastPassAt: timestamps('last_pass_at'),
    /** Why the last pass failed (CloudTrail unreachable, throttled, another account); null when it did not. */
    lastError: text('last_error'),
    events: integer('events').notNull().default(0),
    byAction: jsonb('by_action').notNull().default(sql`'{}'::jsonb`),
    errors: integer('errors').notNull().default(0),
    firstEventAt: timestamps('first_event_at'),
    lastEventAt: timestamps('last_event_at'),
    createdAt: timestamps('created_at').notNull(),
    updatedAt: timestamps('updated_at').notNull(),
  },
  (t) => [
    check('activity_reports_status_check', sql`${t.status} in ('pending', 'complete', 'incomplete')`),
    index('activity_reports_due_idx').on(t.status, t.nextPassAt),
  ],
);

/** Outgoing notifications (webhooks, Slack) and each delivery attempt. */
export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    target: text('target').notNull(),
    event: text('event').notNull(),
    requestId: text('request_id'),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    /** The exact JSON body sent on every attempt, so a retry delivers what the first try did. */
    payload: jsonb('payload').notNull(),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamps('next_attempt_at'),
    /** One entry per attempt: when, HTTP status or error. */
    attempts: jsonb('attempts').notNull().default(sql`'[]'::jsonb`),
    createdAt: timestamps('created_at').notNull(),
    updatedAt: timestamps('updated_at').notNull(),
  },
  (t) => [index('deliveries_request_idx').on(t.requestId), index('deliveries_due_idx').on(t.status, t.nextAttemptAt)],
);

/** PostgreSQL's 64-bit transaction id, read and written as its decimal text. */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/**
 * The audit trail. Append-only (triggers in a custom migration refuse UPDATE, DELETE, TRUNCATE).
 * Each event carries its own hash = sha256(canonical JSON) and is sealed into a signed block
 * (auditBlocks, SPEC §11); events written before §11 keep their chain: prevHash set, hash =
 * sha256(prevHash || canonical JSON), and no xid.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    occurredAt: timestamps('occurred_at').notNull(),
    actorId: text('actor_id').notNull(),
    actorKind: text('actor_kind', { enum: ['person', 'service', 'system', 'slack'] }).notNull(),
    action: text('action').notNull(),
    requestId: text('request_id'),
    profileId: text('profile_id'),
    sourceIp: text('source_ip'),
    details: jsonb('details').notNull(),
    prevHash: text('prev_hash'),
    hash: text('hash').notNull(),
    /** The writing transaction, assigned before the id is drawn (audit/writer.ts, audit/sealer.ts). */
    xid: xid8('xid').default(sql`pg_current_xact_id()`),
  },
  (t) => [
    index('audit_request_idx').on(t.requestId, t.id),
    index('audit_profile_idx').on(t.profileId, t.id),
    index('audit_actor_idx').on(t.actorId, t.id),
    index('audit_action_idx').on(t.action, t.id),
    // With the id, a time range yields ids from the index alone (GET /v1/audit pages sort them, see audit/repo.ts).
    index('audit_occurred_idx').on(t.occurredAt, t.id),
    // The milestone-1 chain's head, found once when the first block is sealed (it links to it).
    index('audit_chain_idx').on(t.id).where(sql`${t.xid} is null`),
  ],
);

/**
 * Signed blocks of sealed events (SPEC §11), append-only like the events. Written only by the
 * sealer, one transaction per block; the signing key never reaches the database.
 */
export const auditBlocks = pgTable('audit_blocks', {
  seq: bigint('seq', { mode: 'number' }).primaryKey(),
  firstEventId: bigint('first_event_id', { mode: 'bigint' }).notNull().unique(),
  lastEventId: bigint('last_event_id', { mode: 'bigint' }).notNull().unique(),
  count: integer('count').notNull(),
  root: text('root').notNull(),
  prevBlockHash: text('prev_block_hash').notNull(),
  sealedAt: timestamps('sealed_at').notNull(),
  hash: text('hash').notNull(),
  signature: text('signature'),
});

/**
 * This installation: one database is one installation, however many API and worker processes
 * share it. Its id namespaces what the installation owns outside the database, so that several
 * installations can share an AWS role without touching each other's state (the inline policy
 * of deny-policy revocations is named after it). One row, written by the migration that made
 * the table; never changed.
 */
export const installation = pgTable(
  'installation',
  {
    singleton: boolean('singleton').primaryKey().default(true),
    id: text('id').notNull(),
    createdAt: timestamps('created_at').notNull().defaultNow(),
  },
  (t) => [check('installation_singleton_check', sql`${t.singleton}`), check('installation_id_check', sql`${t.id} ~ '^[a-z0-9]{16}$'`)],
);
