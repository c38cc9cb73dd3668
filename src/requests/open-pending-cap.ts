import type { Tx } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import { Problem } from '../http/problems.js';
import { lockPrincipal } from '../principals/repo.js';
import type { ProfileVersion } from '../profiles/repo.js';
import { countPendingOf } from './repo.js';

/** Thrown inside the creating transaction so that it rolls back; answered as 409 `conflict`. */
export class OpenPendingCapReached extends Error {
  constructor(readonly cap: number) {
    super('open pending cap reached');
  }

  get problem(): Problem {
    return new Problem('conflict', `you already have ${this.cap} pending request${this.cap === 1 ? '' : 's'} for this profile (requesters.maxOpenPending); cancel one or wait for a decision`);
  }
}

/**
 * `requesters.maxOpenPending` (SPEC §1): a requester may have at most that many `pending`
 * requests on the profile (all versions), 0 meaning no cap. The requester's principal row is
 * locked first, so concurrent creates by one requester count one after another and cannot all
 * slip under the cap; other requesters are not held up.
 */
export async function holdOpenPendingCap(tx: Tx, caller: Caller, profile: ProfileVersion): Promise<void> {
  const cap = profile.definition.requesters.maxOpenPending;
  if (cap === 0) return;
  await lockPrincipal(tx, caller.id);
  if ((await countPendingOf(tx, caller.id, profile.profile.id)) >= cap) throw new OpenPendingCapReached(cap);
}
