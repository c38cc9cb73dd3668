import type { Clock } from '../adapters/clock.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Caller } from '../domain/caller.js';
import { canonicalEmail, canonicalGroups, isEmail, matchableByIdentity } from '../domain/identity.js';
import { newId } from '../domain/ids.js';
import { requireAdmin } from '../http/guards.js';
import { Problem } from '../http/problems.js';
import { findPrincipal, insertPrincipal, listPrincipals, updatePrincipal, type PrincipalRow } from './repo.js';

type Deps = { db: Db; clock: Clock };

export interface NewPrincipal {
  kind?: 'person' | 'service';
  email?: string;
  displayName: string;
  groups?: string[];
  slackUserId?: string | null;
}

/** Admin creates a person (who may later sign in through OIDC with the same email) or a service account. */
export async function createPrincipal(deps: Deps, caller: Caller, input: NewPrincipal): Promise<PrincipalRow> {
  requireAdmin(caller);
  const kind = input.kind ?? 'person';
  if (!matchableByIdentity(kind)) refuseIdentityOnService({ email: input.email, slackUserId: input.slackUserId });
  const email = input.email === undefined ? null : canonicalEmail(input.email);
  if (email !== null && !isEmail(email)) throw validation('/body/email', 'must be an email address');
  if (kind === 'person' && email === null) throw validation('/body/email', 'is required for a person');
  const now = deps.clock.now();
  const id = newId('prn');
  const groups = canonicalGroups(input.groups ?? []);
  return conflictsAsProblems(() =>
    deps.db.transaction(async (tx) => {
      const row = await insertPrincipal(tx, {
        id,
        kind,
        email,
        displayName: input.displayName.trim(),
        groups,
        slackUserId: input.slackUserId ?? null,
        createdAt: now,
        updatedAt: now,
      });
      if (row === undefined) throw new Problem('conflict', 'a principal with this email or Slack user already exists');
      await appendAudit(tx, deps.clock, {
        actor: { id: caller.id, kind: caller.kind },
        action: 'principal.created',
        sourceIp: caller.sourceIp,
        details: { principalId: id, kind, email, groups },
      });
      return row;
    }),
  );
}

export interface PrincipalChanges {
  groups?: string[];
  slackUserId?: string | null;
  disabled?: boolean;
  displayName?: string;
}

export async function updatePrincipalByAdmin(deps: Deps, caller: Caller, id: string, changes: PrincipalChanges): Promise<PrincipalRow> {
  requireAdmin(caller);
  if (changes.disabled === true && id === caller.id) throw new Problem('conflict', 'an administrator cannot disable themselves');
  return conflictsAsProblems(() =>
    deps.db.transaction(async (tx) => {
      const before = await findPrincipal(tx, id);
      if (before === undefined) throw new Problem('not-found', 'no such principal');
      if (!matchableByIdentity(before.kind)) refuseIdentityOnService({ slackUserId: changes.slackUserId });
      const updated = await updatePrincipal(tx, id, {
        ...(changes.groups === undefined ? {} : { groups: canonicalGroups(changes.groups) }),
        ...(changes.slackUserId === undefined ? {} : { slackUserId: changes.slackUserId }),
        ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
        ...(changes.displayName === undefined ? {} : { displayName: changes.displayName.trim() }),
        updatedAt: deps.clock.now(),
      });
      await appendAudit(tx, deps.clock, {
        actor: { id: caller.id, kind: caller.kind },
        action: changes.disabled === true && !before.disabled ? 'principal.disabled' : 'principal.updated',
        sourceIp: caller.sourceIp,
        details: { principalId: id, changes },
      });
      return updated!;
    }),
  );
}

export async function getPrincipal(deps: Deps, caller: Caller, id: string): Promise<PrincipalRow> {
  requireAdmin(caller);
  const row = await findPrincipal(deps.db, id);
  if (row === undefined) throw new Problem('not-found', 'no such principal');
  return row;
}

export async function listAllPrincipals(
  deps: Deps,
  caller: Caller,
  page: { cursor?: string; limit: number },
): Promise<{ items: PrincipalRow[]; nextCursor: string | null }> {
  requireAdmin(caller);
  const rows = await listPrincipals(deps.db, page.cursor, page.limit + 1);
  const items = rows.slice(0, page.limit);
  return { items, nextCursor: rows.length > page.limit ? items.at(-1)!.id : null };
}

/**
 * A service account is reached by its API keys only (domain/identity.ts): an e-mail or a Slack
 * link would let whoever signs in or clicks with that identity act as it.
 */
function refuseIdentityOnService(fields: { email?: string | undefined; slackUserId?: string | null | undefined }): void {
  const why = 'is not allowed on a service account: it is reached by its API keys only';
  if (fields.email !== undefined) throw validation('/body/email', why);
  if (fields.slackUserId !== undefined && fields.slackUserId !== null) throw validation('/body/slackUserId', why);
}

function validation(field: string, message: string): Problem {
  return new Problem('validation', `${field.replace('/body/', '')} ${message}`, { errors: [{ field, message }] });
}

async function conflictsAsProblems<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isUniqueViolation(error)) throw new Problem('conflict', 'a principal with this email or Slack user already exists');
    throw error;
  }
}
