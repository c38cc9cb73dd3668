import { Type } from 'typebox';
import { PageQuery, SingleLine } from '../http/schemas.js';

const Group = SingleLine({ minLength: 1, maxLength: 128 });
const SlackUserId = Type.String({ pattern: '^[UW][A-Z0-9]{2,30}$', description: 'Slack user id, e.g. U0123ABC' });

export const Principal = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('person'), Type.Literal('service')]),
    email: Type.Union([Type.String(), Type.Null()]),
    displayName: Type.String(),
    groups: Type.Array(Type.String()),
    slackUserId: Type.Union([Type.String(), Type.Null()]),
    disabled: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Principal' },
);

export const Me = Type.Object({
  ...Principal.properties,
  roles: Type.Object({ admin: Type.Boolean(), auditor: Type.Boolean() }),
  authenticatedVia: Type.String(),
  mfa: Type.Boolean(),
});

export const CreatePrincipalBody = Type.Object(
  {
    kind: Type.Optional(Type.Union([Type.Literal('person'), Type.Literal('service')])),
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 254 })),
    displayName: SingleLine({ minLength: 1, maxLength: 200 }),
    groups: Type.Optional(Type.Array(Group, { maxItems: 100 })),
    slackUserId: Type.Optional(Type.Union([SlackUserId, Type.Null()])),
  },
  { additionalProperties: false, examples: [{ email: 'alice@example.com', displayName: 'Alice', groups: ['dev'] }] },
);

export const UpdatePrincipalBody = Type.Object(
  {
    groups: Type.Optional(Type.Array(Group, { maxItems: 100 })),
    slackUserId: Type.Optional(Type.Union([SlackUserId, Type.Null()])),
    disabled: Type.Optional(Type.Boolean()),
    displayName: Type.Optional(SingleLine({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const PrincipalList = Type.Object({ items: Type.Array(Principal), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const PrincipalListQuery = Type.Object(PageQuery, { additionalProperties: false });

export const CreateApiKeyBody = Type.Object(
  { name: SingleLine({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false, examples: [{ name: 'laptop' }] },
);

export const CreatedApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  key: Type.String({ description: 'The API key. Shown here only, never again.' }),
});

export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const ApiKeyList = Type.Object({ items: Type.Array(ApiKey), nextCursor: Type.Null() });

export const KeyParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
  keyId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
});
