import type { Clock } from '../adapters/clock.js';
import { appendAudit } from '../audit/writer.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Caller } from '../domain/caller.js';
import { isInAudience } from '../domain/eligibility.js';
import { newId } from '../domain/ids.js';
import { approvesUnderProfile } from '../domain/request-access.js';
import { buildProfileDefinition, type ProfileDefinition, type ProfileInput } from '../domain/profile.js';
import { requireAdmin } from '../http/guards.js';
import { Problem } from '../http/problems.js';
import { canonicalJson } from '../audit/proof.js';
import { profilePolicyFindings, type ValidateDeps } from '../evidence/validate-policy.js';
import {
  findCurrentProfile,
  insertProfile,
  insertProfileVersion,
  listCurrentProfiles,
  lockProfile,
  updateProfileHead,
  type ProfileVersion,
} from './repo.js';

type Deps = {
  db: Db;
  clock: Clock;
  config: { roleChaining: boolean; evidence: { enabled: boolean } };
  policyAnalyzer: ValidateDeps['policyAnalyzer'];
};

function definitionOrProblem(input: ProfileInput, config: Deps['config']): ProfileDefinition {
  const built = buildProfileDefinition(input, { roleChaining: config.roleChaining });
  if (!built.ok) {
    const [first] = built.errors;
    throw new Problem('validation', `${first!.field} ${first!.message}`, { errors: built.errors });
  }
  // Without PAGERDUTY_TOKEN an onCall policy is kept and approves nothing (SPEC §12: PagerDuty
  // failing means no auto-approval, never an error); each request it skips is logged and counted.
  return built.definition;
}

const nameTaken = () => new Problem('conflict', 'a profile with this name exists');

export async function createProfile(deps: Deps, caller: Caller, input: ProfileInput): Promise<ProfileVersion> {
  requireAdmin(caller);
  const definition = definitionOrProblem(input, deps.config);
  // Before the transaction: Access Analyzer is not called while anything is locked.
  const policyFindings = await profilePolicyFindings(deps, definition.sessionPolicy);
  const now = deps.clock.now();
  const id = newId('prf');
  try {
    return await deps.db.transaction(async (tx) => {
      const profile = await insertProfile(tx, { id, name: definition.name, currentVersion: 1, createdAt: now, updatedAt: now });
      await insertProfileVersion(tx, { profileId: id, version: 1, definition, policyFindings, createdBy: caller.id, createdAt: now });
      await appendAudit(tx, deps.clock, {
        actor: { id: caller.id, kind: caller.kind },
        action: 'profile.created',
        profileId: id,
        sourceIp: caller.sourceIp,
        details: { version: 1, definition, ...(policyFindings === null ? {} : { policyFindings }) },
      });
      return { profile, version: 1, definition, policyFindings };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken();
    throw error;
  }
}

/** Every change is a new version; requests keep the version they were made under. */
export async function updateProfile(deps: Deps, caller: Caller, ref: string, patch: Partial<ProfileInput>): Promise<ProfileVersion> {
  requireAdmin(caller);
  // The session policy is validated outside the transaction (no AWS call under a lock), on the
  // version seen now; should a concurrent edit change the policy meanwhile, this edit is refused.
  const seen = await findCurrentProfile(deps.db, ref);
  if (seen === undefined) throw new Problem('not-found', 'no such profile');
  const checked = definitionOrProblem(merge(seen.definition, patch), deps.config);
  const policyFindings = await profilePolicyFindings(deps, checked.sessionPolicy);
  try {
    return await deps.db.transaction(async (tx) => {
      // The lock serialises concurrent edits, so versions are numbered without gaps or races.
      const locked = await lockProfile(tx, ref);
      const current = locked === undefined ? undefined : await findCurrentProfile(tx, locked.id);
      if (locked === undefined || current === undefined) throw new Problem('not-found', 'no such profile');
      const id = locked.id;
      const definition = definitionOrProblem(merge(current.definition, patch), deps.config);
      if (canonicalJson(definition.sessionPolicy) !== canonicalJson(checked.sessionPolicy)) {
        throw new Problem('conflict', 'the profile session policy changed while this edit was checked; retry');
      }
      const version = current.version + 1;
      const now = deps.clock.now();
      await insertProfileVersion(tx, { profileId: id, version, definition, policyFindings, createdBy: caller.id, createdAt: now });
      const profile = await updateProfileHead(tx, id, { name: definition.name, currentVersion: version, updatedAt: now });
      await appendAudit(tx, deps.clock, {
        actor: { id: caller.id, kind: caller.kind },
        action: 'profile.updated',
        profileId: id,
        sourceIp: caller.sourceIp,
        details: { version, changes: patch, ...(policyFindings === null ? {} : { policyFindings }) },
      });
      return { profile, version, definition, policyFindings };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken();
    throw error;
  }
}

/** Removes the profile from the catalog. Its versions stay: requests and audit refer to them. */
export async function deleteProfile(deps: Deps, caller: Caller, ref: string): Promise<void> {
  requireAdmin(caller);
  await deps.db.transaction(async (tx) => {
    const locked = await lockProfile(tx, ref);
    if (locked === undefined) throw new Problem('not-found', 'no such profile');
    const id = locked.id;
    const now = deps.clock.now();
    // Frees the name for a new profile while keeping the row for history.
    await updateProfileHead(tx, id, { deletedAt: now, updatedAt: now, name: `${locked.name}~deleted~${id}` });
    await appendAudit(tx, deps.clock, {
      actor: { id: caller.id, kind: caller.kind },
      action: 'profile.deleted',
      profileId: id,
      sourceIp: caller.sourceIp,
      details: { name: locked.name, version: locked.currentVersion },
    });
  });
}

export function mayRequest(definition: ProfileDefinition, caller: Caller): boolean {
  return isInAudience(definition.requesters, caller);
}

/**
 * Who may see a profile: admins, those who may request it, and its approvers (the rule of
 * domain/request-access.ts); to anyone else it does not exist.
 */
export function maySeeProfile(definition: ProfileDefinition, caller: Caller): boolean {
  return caller.isAdmin || mayRequest(definition, caller) || approvesUnderProfile(definition.approval, caller);
}

export async function getProfile(deps: Pick<Deps, 'db'>, caller: Caller, ref: string): Promise<ProfileVersion> {
  const found = await findCurrentProfile(deps.db, ref);
  if (found === undefined || !maySeeProfile(found.definition, caller)) throw new Problem('not-found', 'no such profile');
  return found;
}

/** Admins see the whole catalog; everyone else the profiles they may request. */
export async function listProfiles(deps: Pick<Deps, 'db'>, caller: Caller): Promise<ProfileVersion[]> {
  const all = await listCurrentProfiles(deps.db);
  return caller.isAdmin ? all : all.filter((p) => mayRequest(p.definition, caller));
}

/**
 * Top-level fields replace; the nested groups (approval, conditions, …) merge one level deep.
 * An extension policy still at its defaults keeps following them: raising `maxDurationSeconds`
 * or `approval.required` moves it too, unless the patch sets `approval.extension` itself.
 */
function merge(current: ProfileDefinition, patch: Partial<ProfileInput>): ProfileInput {
  const { extension, ...approval } = current.approval;
  const extensionIsDefault = extension.required === approval.required && extension.maxTotalSeconds === current.maxDurationSeconds;
  return {
    ...current,
    ...patch,
    requesters: { ...current.requesters, ...patch.requesters },
    approval: { ...approval, ...(extensionIsDefault ? {} : { extension }), ...patch.approval },
    conditions: { ...current.conditions, ...patch.conditions },
    notify: { ...current.notify, ...patch.notify },
  };
}
