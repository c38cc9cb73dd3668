import type { Caller } from '../domain/caller.js';
import { parseDuration } from '../domain/duration.js';
import { Problem } from '../http/problems.js';
import { listProfiles } from '../profiles/manage-profiles.js';
import { createRequest } from '../requests/create-request.js';
import { principalForSlackUser } from './identity.js';
import type { SlackCommandDeps } from './interactions.js';
import { escapeMrkdwn } from './messages.js';

const HELP = 'Usage: `/brevet` lists the profiles you may request; `/brevet request <profile> <duration> <justification…>` asks for one (durations like 30m, 1h, 1h30m or seconds).';

/**
 * `/brevet` (SPEC §8): lists the caller's eligible profiles, or opens a request as that person
 * through the same command as the API. Answers the text to show the caller privately.
 */
export async function handleSlashCommand(deps: SlackCommandDeps, slackUserId: string, text: string): Promise<string> {
  const identity = await principalForSlackUser(deps, slackUserId);
  if (!identity.ok) return `Nothing was changed: ${identity.reason}.`;
  const [verb, ...rest] = text.trim().split(/\s+/).filter((w) => w !== '');
  if (verb === undefined || verb === 'list') return listEligible(deps, identity.caller);
  if (verb !== 'request') return HELP;
  const [profile, durationText, ...words] = rest;
  const durationSeconds = durationText === undefined ? null : parseDuration(durationText);
  if (profile === undefined || durationSeconds === null || words.length === 0) return HELP;
  const justification = words.join(' ');
  // The API's schema limits do not run here: the same limits, checked by hand.
  if (profile.length > 64 || justification.length > 4000 || /[\u0000-\u001f\u007f]/.test(justification)) return HELP;
  try {
    const { view } = await createRequest(deps, identity.caller, { profile, durationSeconds, justification });
    return `Request ${view.id} for ${escapeMrkdwn(profile)} is ${view.status}.`;
  } catch (error) {
    if (error instanceof Problem) return `Nothing was requested: ${escapeMrkdwn(error.detail)}.`;
    throw error;
  }
}

async function listEligible(deps: SlackCommandDeps, caller: Caller): Promise<string> {
  const profiles = await listProfiles(deps, { ...caller, isAdmin: false });
  if (profiles.length === 0) return 'There is no profile you may request.';
  const lines = profiles.map((p) => `• ${escapeMrkdwn(p.profile.name)} (up to ${Math.round(p.definition.maxDurationSeconds / 60)} min)${p.definition.description === '' ? '' : `: ${escapeMrkdwn(p.definition.description)}`}`);
  return `Profiles you may request:\n${lines.join('\n')}`;
}
