import type { ApiKeyRow, PrincipalRow } from './repo.js';

export function principalView(row: PrincipalRow) {
  return {
    id: row.id,
    kind: row.kind,
    email: row.email,
    displayName: row.displayName,
    groups: row.groups,
    slackUserId: row.slackUserId,
    disabled: row.disabled,
    createdAt: row.createdAt.toISOString(),
  };
}

export type PrincipalView = ReturnType<typeof principalView>;

export function apiKeyView(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
