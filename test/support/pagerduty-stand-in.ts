import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the PagerDuty REST API v2, speaking its documented shapes: `GET /users`
 * with `query` (matching e-mails and names loosely, as PagerDuty does), `GET /oncalls` with
 * `schedule_ids[]` and `user_ids[]`, answers as `{ users: [...] }` / `{ oncalls: [...] }` with
 * pagination fields. Requests without `Authorization: Token token=<token>` and the v2 `Accept`
 * header get 401 / 406 like the real API would refuse them.
 */
export interface PagerDutyStandIn {
  url: string;
  token: string;
  /** Every request received: path, query parameters (repeated ones kept), the raw query, headers. */
  requests: { path: string; params: [string, string][]; rawQuery: string; headers: IncomingHttpHeaders }[];
  addUser(user: { id: string; email: string; name?: string }): void;
  /** The user is on call now in the schedule. */
  putOnCall(userId: string, scheduleId: string): void;
  /** `ok` (default), every call answered 500, or left hanging until close. */
  mode: 'ok' | 'fail' | 'hang';
  close(): Promise<void>;
}

export async function startPagerDutyStandIn(token = 'pd-test-token'): Promise<PagerDutyStandIn> {
  const users: { id: string; email: string; name: string }[] = [];
  const onCalls: { userId: string; scheduleId: string }[] = [];
  const hanging: ServerResponse[] = [];
  const send = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };

  const standIn: PagerDutyStandIn = {
    url: '',
    token,
    requests: [],
    mode: 'ok',
    addUser: (user) => users.push({ name: user.email.split('@')[0]!, ...user }),
    putOnCall: (userId, scheduleId) => onCalls.push({ userId, scheduleId }),
    close: async () => {
      for (const response of hanging) response.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const params = [...url.searchParams.entries()];
    standIn.requests.push({ path: url.pathname, params, rawQuery: (request.url ?? '').replace(/^[^?]*\??/, ''), headers: request.headers });
    if (standIn.mode === 'hang') {
      hanging.push(response);
      return;
    }
    if (standIn.mode === 'fail') return send(response, 500, { error: { message: 'Internal Server Error', code: 2000 } });
    if (request.headers.authorization !== `Token token=${token}`) return send(response, 401, { error: { message: 'Unauthorized', code: 2006 } });
    if (request.headers.accept !== 'application/vnd.pagerduty+json;version=2') return send(response, 406, { error: { message: 'Not Acceptable' } });
    const page = { limit: 100, offset: 0, more: false, total: null };

    if (request.method === 'GET' && url.pathname === '/users') {
      const query = (url.searchParams.get('query') ?? '').toLowerCase();
      const found = users.filter((u) => u.email.toLowerCase().includes(query) || u.name.toLowerCase().includes(query));
      return send(response, 200, { users: found.map((u) => ({ id: u.id, type: 'user', name: u.name, email: u.email, summary: u.name })), ...page });
    }
    if (request.method === 'GET' && url.pathname === '/oncalls') {
      const schedules = url.searchParams.getAll('schedule_ids[]');
      const userIds = url.searchParams.getAll('user_ids[]');
      const found = onCalls.filter((o) => (schedules.length === 0 || schedules.includes(o.scheduleId)) && (userIds.length === 0 || userIds.includes(o.userId)));
      return send(response, 200, {
        oncalls: found.map((o) => ({
          escalation_policy: { id: 'PEP0001', type: 'escalation_policy_reference' },
          escalation_level: 1,
          schedule: { id: o.scheduleId, type: 'schedule_reference' },
          user: { id: o.userId, type: 'user_reference' },
          start: new Date(Date.now() - 3_600_000).toISOString(),
          end: new Date(Date.now() + 3_600_000).toISOString(),
        })),
        ...page,
      });
    }
    return send(response, 404, { error: { message: 'Not Found', code: 2100 } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return standIn;
}
