import { Type } from 'typebox';
import { MultiLine, PageQuery, SingleLine } from '../http/schemas.js';

const StatusValues = ['pending', 'approved', 'active', 'denied', 'cancelled', 'expired', 'ended', 'revoked'] as const;
const StatusSchema = Type.Unsafe<(typeof StatusValues)[number]>({ type: 'string', enum: [...StatusValues] });

const Scope = Type.Object(
  {
    actions: Type.Array(Type.String({ pattern: '^[a-zA-Z0-9-]+:[A-Za-z0-9*?]+$|^\\*$', maxLength: 128 }), { minItems: 1, maxItems: 50 }),
    resources: Type.Optional(
      Type.Array(Type.String({ pattern: '^(arn:[^\\s]+|\\*)$', maxLength: 2048 }), {
        minItems: 1,
        maxItems: 50,
        description: "Without resources: the actions on whatever the profile's session policy allows them on",
      }),
    ),
  },
  { additionalProperties: false, description: 'Narrows the profile session policy; it can never widen it' },
);

export const CreateRequestBody = Type.Object(
  {
    profile: Type.String({ minLength: 1, maxLength: 64, description: "The profile's id or name" }),
    durationSeconds: Type.Optional(Type.Integer({ minimum: 900, maximum: 43200 })),
    justification: MultiLine({ minLength: 1, maxLength: 4000 }),
    ticket: Type.Optional(Type.Union([SingleLine({ minLength: 1, maxLength: 128 }), Type.Null()])),
    startsAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    scope: Type.Optional(Type.Union([Scope, Type.Null()])),
    breakGlass: Type.Optional(Type.Boolean({ description: 'Self-activate now on a break-glass profile; approvers are alerted' })),
  },
  {
    additionalProperties: false,
    examples: [{ profile: 'prod-admin', durationSeconds: 1800, justification: 'INC-42 hotfix on the payments API', ticket: 'INC-42' }],
  },
);

export const CreateRequestHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' })),
});

export const ReviewBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
    comment: Type.Optional(Type.Union([MultiLine({ maxLength: 2000 }), Type.Null()])),
  },
  { additionalProperties: false, examples: [{ decision: 'approve', comment: 'ok' }] },
);

export const ExtendBody = Type.Object(
  {
    durationSeconds: Type.Integer({ minimum: 900, maximum: 43200, description: 'Seconds added to the window' }),
    justification: MultiLine({ minLength: 1, maxLength: 4000 }),
  },
  { additionalProperties: false, examples: [{ durationSeconds: 3600, justification: 'INC-42: the migration needs another hour' }] },
);

export const CancelBody = Type.Object(
  { reason: Type.Optional(MultiLine({ maxLength: 2000 })) },
  { additionalProperties: false, description: 'May be omitted (no body): the reason is optional.' },
);

export const RevokeBody = Type.Object({ reason: MultiLine({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false, examples: [{ reason: 'done' }] });

const Review = Type.Object({
  reviewerId: Type.String(),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  comment: Type.Union([Type.String(), Type.Null()]),
  channel: Type.Union([Type.Literal('api'), Type.Literal('slack')]),
  postHoc: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export const Request = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('access'), Type.Literal('extension')], { description: 'extension: a request for more time on its parent (SPEC §12)' }),
    parentId: Nullable(Type.String({ description: 'The request an extension extends' })),
    status: StatusSchema,
    profileId: Type.String(),
    profileName: Type.String({ description: "The profile's name now (it may have been renamed since)" }),
    profileVersion: Type.Integer(),
    requesterId: Type.String(),
    durationSeconds: Type.Integer(),
    justification: Type.String(),
    ticket: Nullable(Type.String()),
    scope: Type.Union([Type.Object({ actions: Type.Array(Type.String()), resources: Type.Optional(Type.Array(Type.String())) }), Type.Null()]),
    breakGlass: Type.Boolean(),
    startsAt: Nullable(Type.String({ format: 'date-time' })),
    endsAt: Nullable(Type.String({ format: 'date-time' })),
    pendingExpiresAt: Type.String({ format: 'date-time' }),
    approvalsRequired: Type.Integer({ description: "The profile's approval.required, or approval.sensitiveRequired when the evidence asks for it (SPEC §13)" }),
    evidence: Type.Union(
      [
        Type.Object({
          sensitive: Type.Union([Type.Array(Type.String()), Type.Null()], {
            description: "The profile's sensitive actions this grant may allow; null when the check could not run",
          }),
          error: Type.Optional(Type.String({ description: 'Why the check could not run; sensitiveRequired then applies (fail closed)' })),
          checkedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        }),
        Type.Null(),
      ],
      { description: 'SPEC §13 sensitive-access check at creation (IAM Access Analyzer); null when BREVET_EVIDENCE is off' },
    ),
    reviews: Type.Array(Review),
    revokedReason: Nullable(Type.String()),
    denyPolicyStatus: Type.Union([Type.Literal('pending'), Type.Literal('applied'), Type.Literal('removed'), Type.Literal('failed'), Type.Null()], {
      description: 'deny-policy revocation: whether the Deny statement is on the role',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Request' },
);

export const RequestList = Type.Object({ items: Type.Array(Request), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const RequestListQuery = Type.Object(
  {
    status: Type.Optional(StatusSchema),
    mine: Type.Optional(Type.Boolean()),
    reviewable: Type.Optional(Type.Boolean()),
    profile: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "Only requests for this profile (its id or name)" })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const RequestWaitQuery = Type.Object(
  {
    waitSeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 60, description: 'Long-poll: hold the answer up to this long while the status is still `status`' }),
    ),
    status: Type.Optional(Type.Unsafe<(typeof StatusValues)[number]>({ type: 'string', enum: [...StatusValues], description: 'The status last seen; required with waitSeconds' })),
  },
  { additionalProperties: false },
);
