import { Type } from 'typebox';
import { SingleLine } from '../http/schemas.js';
import type { Weekday as WeekdayName } from '../domain/conditions.js';

const Str = (maxLength: number) => SingleLine({ minLength: 1, maxLength });
/**
 * A day as `mon` … `sun`; `Mon`, `MONDAY` and `monday` are taken too, and stored as `mon` (domain/profile.ts).
 * The pattern spells each letter's two cases: JSON Schema patterns take no flags.
 */
const Weekday = Type.Unsafe<WeekdayName>({
  type: 'string',
  pattern: '^(?:[Mm][Oo][Nn](?:[Dd][Aa][Yy])?|[Tt][Uu][Ee](?:[Ss][Dd][Aa][Yy])?|[Ww][Ee][Dd](?:[Nn][Ee][Ss][Dd][Aa][Yy])?|[Tt][Hh][Uu](?:[Rr][Ss][Dd][Aa][Yy])?|[Ff][Rr][Ii](?:[Dd][Aa][Yy])?|[Ss][Aa][Tt](?:[Uu][Rr][Dd][Aa][Yy])?|[Ss][Uu][Nn](?:[Dd][Aa][Yy])?)$',
  description: 'mon, tue, wed, thu, fri, sat or sun (any case; full names too)',
  examples: ['mon'],
});
const Entries = Type.Array(Str(254), { maxItems: 200 });
const Closed = { additionalProperties: false } as const;

const TimeWindow = Type.Object(
  {
    days: Type.Array(Weekday, { minItems: 1, maxItems: 7 }),
    start: Type.String({ pattern: '^\\d{2}:\\d{2}$', description: 'HH:MM, 24 h' }),
    end: Type.String({ pattern: '^\\d{2}:\\d{2}$' }),
    timeZone: Str(64),
  },
  Closed,
);

const Durations = Type.Integer({ minimum: 900, maximum: 43200 });

const Extension = Type.Object(
  {
    required: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, description: "Approvals an extension needs (default: the profile's)" })),
    maxTotalSeconds: Type.Optional({ ...Durations, description: 'The longest a grant may last with its extensions (default: maxDurationSeconds)' }),
  },
  { ...Closed, description: 'How extensions of an active grant are reviewed (POST /v1/requests/{id}/extend)' },
);

const EscalationTier = Type.Object(
  {
    afterSeconds: Type.Integer({ minimum: 1, maximum: 30 * 86400, description: "Counted from the request's creation; increasing across tiers" }),
    approverGroups: Type.Array(Str(254), { minItems: 1, maxItems: 200 }),
  },
  Closed,
);
const Escalation = Type.Array(EscalationTier, { maxItems: 10, description: 'Approvers who may also review a request still pending after afterSeconds' });

const OnCall = Type.Object(
  {
    provider: Type.Literal('pagerduty'),
    scheduleIds: Type.Array(Type.String({ pattern: '^[A-Z0-9]{1,32}$' }), { minItems: 1, maxItems: 20 }),
  },
  { ...Closed, description: 'Approve at creation a request from someone on call now in one of these schedules' },
);

/** Shared by create (name and roleArn required) and update (everything optional). */
const editable = {
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'Unique slug' }),
  description: SingleLine({ maxLength: 1000 }),
  roleArn: Str(2048),
  externalId: Type.Union([Str(1224), Type.Null()]),
  region: Type.Union([Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' }), Type.Null()]),
  maxDurationSeconds: Durations,
  defaultDurationSeconds: Durations,
  requesters: Type.Object(
    {
      groups: Type.Optional(Entries),
      principals: Type.Optional(Entries),
      maxOpenPending: Type.Optional(
        Type.Integer({ minimum: 0, maximum: 1000, description: "Cap on one requester's pending requests on this profile; 0 (default) = no cap" }),
      ),
    },
    Closed,
  ),
  approval: Type.Object(
    {
      required: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
      approverGroups: Type.Optional(Entries),
      approverPrincipals: Type.Optional(Entries),
      pendingTtlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86400 })),
      remindAfterSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 30 * 86400 }), Type.Null()])),
      breakGlass: Type.Optional(Type.Boolean()),
      requireApproverMfa: Type.Optional(Type.Boolean()),
      extension: Type.Optional(Extension),
      escalation: Type.Optional(Escalation),
      onCall: Type.Optional(Type.Union([OnCall, Type.Null()])),
      sensitiveActions: Type.Optional(
        Type.Array(Type.String({ pattern: '^[a-z0-9-]+:[A-Za-z0-9*?]+$', maxLength: 128 }), {
          maxItems: 50,
          description: 'Actions approvers must be told a request may grant (iam:* = any IAM action); default iam:*, organizations:*, sts:AssumeRole, kms:Decrypt',
        }),
      ),
      sensitiveRequired: Type.Optional(
        Type.Union([Type.Integer({ minimum: 0, maximum: 20 }), Type.Null()], {
          description: 'Approvals instead of `required` for a request that may grant a sensitive action (or whose check could not run); null (default): unchanged',
        }),
      ),
    },
    Closed,
  ),
  conditions: Type.Object(
    {
      requireMfa: Type.Optional(Type.Boolean()),
      sourceCidrs: Type.Optional(Type.Array(Str(64), { maxItems: 100 })),
      timeWindows: Type.Optional(Type.Array(TimeWindow, { maxItems: 20 })),
      ticketPattern: Type.Optional(Type.Union([Str(200), Type.Null()])),
      minJustificationLength: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    },
    Closed,
  ),
  sessionPolicy: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  sessionTags: Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 256 }), { maxProperties: 48 }),
  revocation: Type.Union([Type.Literal('block-new'), Type.Literal('deny-policy')]),
  notify: Type.Object({ slackChannel: Type.Optional(Type.Union([Type.String({ pattern: '^[CGD][A-Z0-9]{2,30}$' }), Type.Null()])) }, Closed),
};

export const CreateProfileBody = Type.Object(
  {
    name: editable.name,
    roleArn: editable.roleArn,
    description: Type.Optional(editable.description),
    externalId: Type.Optional(editable.externalId),
    region: Type.Optional(editable.region),
    maxDurationSeconds: Type.Optional(editable.maxDurationSeconds),
    defaultDurationSeconds: Type.Optional(editable.defaultDurationSeconds),
    requesters: Type.Optional(editable.requesters),
    approval: Type.Optional(editable.approval),
    conditions: Type.Optional(editable.conditions),
    sessionPolicy: Type.Optional(editable.sessionPolicy),
    sessionTags: Type.Optional(editable.sessionTags),
    revocation: Type.Optional(editable.revocation),
    notify: Type.Optional(editable.notify),
  },
  {
    additionalProperties: false,
    examples: [
      {
        name: 'prod-admin',
        roleArn: 'arn:aws:iam::123456789012:role/Admin',
        maxDurationSeconds: 3600,
        defaultDurationSeconds: 1800,
        requesters: { groups: ['dev'] },
        approval: { required: 1, approverGroups: ['sre'] },
        conditions: { minJustificationLength: 10 },
        revocation: 'deny-policy',
        notify: { slackChannel: 'C0123' },
      },
    ],
  },
);

export const UpdateProfileBody = Type.Object(
  Object.fromEntries(Object.entries(editable).map(([key, schema]) => [key, Type.Optional(schema)])) as {
    [K in keyof typeof editable]: ReturnType<typeof Type.Optional<(typeof editable)[K]>>;
  },
  { additionalProperties: false, minProperties: 1 },
);

const Position = Type.Object({ line: Type.Integer(), column: Type.Integer(), offset: Type.Integer() });

/** One ValidatePolicy finding, exactly as IAM Access Analyzer returns it. */
export const PolicyFinding = Type.Object({
  findingType: Type.Union([Type.Literal('ERROR'), Type.Literal('SECURITY_WARNING'), Type.Literal('WARNING'), Type.Literal('SUGGESTION')]),
  issueCode: Type.String(),
  findingDetails: Type.String(),
  learnMoreLink: Type.String(),
  locations: Type.Array(
    Type.Object({
      path: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: 'index, key, substring or value elements into the policy' }),
      span: Type.Object({ start: Position, end: Position }),
    }),
  ),
});

const Requesters = Type.Object({ groups: Type.Array(Type.String()), principals: Type.Array(Type.String()), maxOpenPending: Type.Integer() });

export const Profile = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    version: Type.Integer(),
    description: Type.String(),
    roleArn: Type.String(),
    externalId: Type.Union([Type.String(), Type.Null()]),
    region: Type.Union([Type.String(), Type.Null()]),
    maxDurationSeconds: Type.Integer(),
    defaultDurationSeconds: Type.Integer(),
    requesters: Requesters,
    approval: Type.Object({
      required: Type.Integer(),
      approverGroups: Type.Array(Type.String()),
      approverPrincipals: Type.Array(Type.String()),
      pendingTtlSeconds: Type.Integer(),
      remindAfterSeconds: Type.Union([Type.Integer(), Type.Null()]),
      breakGlass: Type.Boolean(),
      requireApproverMfa: Type.Boolean(),
      extension: Type.Object({ required: Type.Integer(), maxTotalSeconds: Type.Integer() }),
      escalation: Type.Array(Type.Object({ afterSeconds: Type.Integer(), approverGroups: Type.Array(Type.String()) })),
      onCall: Type.Union([Type.Object({ provider: Type.Literal('pagerduty'), scheduleIds: Type.Array(Type.String()) }), Type.Null()]),
      sensitiveActions: Type.Array(Type.String()),
      sensitiveRequired: Type.Union([Type.Integer(), Type.Null()]),
    }),
    conditions: Type.Object({
      requireMfa: Type.Boolean(),
      sourceCidrs: Type.Array(Type.String()),
      timeWindows: Type.Array(TimeWindow),
      ticketPattern: Type.Union([Type.String(), Type.Null()]),
      minJustificationLength: Type.Integer(),
    }),
    sessionPolicy: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    sessionTags: Type.Record(Type.String(), Type.String()),
    revocation: Type.String(),
    notify: Type.Object({ slackChannel: Type.Union([Type.String(), Type.Null()]) }),
    policyFindings: Type.Union([Type.Array(PolicyFinding), Type.Null()], {
      description: 'IAM Access Analyzer findings on the session policy of this version (ERROR findings refuse the save); null when not checked (BREVET_EVIDENCE off, or no session policy)',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Profile' },
);

export const ProfileList = Type.Object({ items: Type.Array(Profile), nextCursor: Type.Null() });
