import { canonicalEmail } from '../../domain/identity.js';
import type { OnCallProvider } from './provider.js';

/** A PagerDuty answer Brevet cannot use: a status other than 2xx, or a body not of the documented shape. */
export class PagerDutyError extends Error {
  override name = 'PagerDutyError';
}

interface PagerDutyUser {
  id?: unknown;
  email?: unknown;
}

interface PagerDutyOnCall {
  user?: { id?: unknown } | null;
  schedule?: { id?: unknown } | null;
}

/**
 * PagerDuty REST API v2: the person is found by e-mail (`GET /users?query=`, then the user whose
 * e-mail matches exactly, case-insensitive: `query` also matches names and partial addresses),
 * then `GET /oncalls` filtered to the schedules and that user — with no time range PagerDuty
 * answers for now. No retries: this runs while a requester waits, inside a budget of seconds.
 */
export function createPagerDutyProvider(options: { apiUrl: string; token: string }): OnCallProvider {
  const base = options.apiUrl.replace(/\/+$/, '');
  const get = async (path: string, params: [string, string][], signal: AbortSignal): Promise<unknown> => {
    // Keys as PagerDuty documents them, brackets unencoded (`schedule_ids[]=P123`); values encoded.
    const url = `${base}${path}?${params.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')}`;
    const response = await fetch(url, {
      headers: {
        accept: 'application/vnd.pagerduty+json;version=2',
        authorization: `Token token=${options.token}`,
        'user-agent': 'Brevet/1',
      },
      signal,
      redirect: 'error',
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new PagerDutyError(`PagerDuty answered ${response.status} to GET ${path}`);
    }
    return response.json();
  };

  return {
    async onCallSchedule(email, scheduleIds, signal) {
      const wanted = canonicalEmail(email);
      const users = listOf<PagerDutyUser>(await get('/users', [['query', wanted], ['limit', '100']], signal), 'users');
      const user = users.find((u) => typeof u.email === 'string' && canonicalEmail(u.email) === wanted && typeof u.id === 'string');
      if (user === undefined) return null;
      const userId = user.id as string;
      const params: [string, string][] = [...scheduleIds.map((id): [string, string] => ['schedule_ids[]', id]), ['user_ids[]', userId], ['limit', '100']];
      const onCalls = listOf<PagerDutyOnCall>(await get('/oncalls', params, signal), 'oncalls');
      // Filtered again here: an entry for another user or schedule is never taken as a yes.
      const match = onCalls.find((o) => o.user?.id === userId && typeof o.schedule?.id === 'string' && scheduleIds.includes(o.schedule.id));
      return (match?.schedule?.id as string | undefined) ?? null;
    },
  };
}

function listOf<T>(body: unknown, key: string): T[] {
  const list = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(list)) throw new PagerDutyError(`PagerDuty's answer has no ${key} list`);
  return list.filter((item): item is T => typeof item === 'object' && item !== null);
}
