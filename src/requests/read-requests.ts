import type { Clock } from '../adapters/clock.js';
import type { Db } from '../db/client.js';
import type { Caller } from '../domain/caller.js';
import type { RequestStatus } from '../domain/lifecycle.js';
import { Problem } from '../http/problems.js';
import { findProfileVersion } from '../profiles/repo.js';
import { maySeeRequest } from './access.js';
import { findRequest, listRequests, profileNamesOf, reviewsOf, type RequestRow } from './repo.js';
import { requestApiView, type RequestApiView } from './view.js';
import type { Executor } from '../principals/repo.js';

/** One request, for those who may see it; everyone else gets the 404 of a missing one. */
export async function getRequest(deps: { db: Db; clock: Clock }, caller: Caller, requestId: string): Promise<RequestApiView> {
  const request = await findRequest(deps.db, requestId);
  const definition = request === undefined ? undefined : await findProfileVersion(deps.db, request.profileId, request.profileVersion);
  if (request === undefined || definition === undefined || !maySeeRequest(request, definition, caller, deps.clock.now())) {
    throw new Problem('not-found', 'no such request');
  }
  return loadRequestView(deps.db, request);
}

/** The current view of a request, without visibility checks: for commands that already made them. */
export async function getRequestView(deps: { db: Db }, requestId: string): Promise<RequestApiView> {
  return loadRequestView(deps.db, (await findRequest(deps.db, requestId))!);
}

/** The API view of stored requests: their reviews and profile names read in one query each. */
export async function loadRequestViews(db: Executor, rows: readonly RequestRow[]): Promise<RequestApiView[]> {
  const reviews = await reviewsOf(
    db,
    rows.map((r) => r.id),
  );
  const names = await profileNamesOf(
    db,
    rows.map((r) => r.profileId),
  );
  return rows.map((request) => requestApiView(request, reviews, names.get(request.profileId) ?? request.profileId));
}

export async function loadRequestView(db: Executor, request: RequestRow): Promise<RequestApiView> {
  const [view] = await loadRequestViews(db, [request]);
  return view!;
}

export interface RequestFilters {
  status?: RequestStatus;
  mine?: boolean;
  reviewable?: boolean;
  /** A profile's id or name. */
  profile?: string;
  cursor?: string;
  limit: number;
}

export async function listVisibleRequests(
  deps: { db: Db; clock: Clock },
  caller: Caller,
  filters: RequestFilters,
): Promise<{ items: RequestApiView[]; nextCursor: string | null }> {
  const rows = await listRequests(deps.db, {
    viewer: caller,
    now: deps.clock.now(),
    status: filters.status,
    mine: filters.mine,
    reviewable: filters.reviewable,
    profile: filters.profile,
    after: filters.cursor === undefined ? undefined : decodeCursor(filters.cursor),
    limit: filters.limit + 1,
  });
  const page = rows.slice(0, filters.limit);
  const last = page.at(-1);
  return {
    items: await loadRequestViews(deps.db, page),
    nextCursor: rows.length > filters.limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : null,
  };
}

function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

/** What encodeCursor writes: the exact ISO form of a Date, and a request id. */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CURSOR_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A cursor is only ever one this API gave out: anything else (forged, truncated, a date
 * PostgreSQL cannot hold, an id with characters no id has) is a 400, never a query that fails.
 */
function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (Array.isArray(decoded) && decoded.length === 2) {
    const [createdAt, id] = decoded as unknown[];
    if (typeof createdAt === 'string' && CURSOR_TIME.test(createdAt) && typeof id === 'string' && CURSOR_ID.test(id)) {
      const date = new Date(createdAt);
      // Not before 1970: no request is older, and year 0 is a date PostgreSQL refuses.
      if (date.getTime() >= 0 && date.toISOString() === createdAt) return { createdAt: date, id };
    }
  }
  throw new Problem('validation', '/querystring/cursor is not a cursor this API gave out', {
    errors: [{ field: '/querystring/cursor', message: 'is not a cursor this API gave out' }],
  });
}
