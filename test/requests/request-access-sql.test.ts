// The SQL twin of src/domain/request-access.ts against real PostgreSQL: the shared table of cases
// must come out exactly as the pure rules answer it (src/domain/request-access.test.ts), and so
// must every combination of viewer, state and review below. Lists use these conditions, item
// routes and commands the pure rules: a request listed for someone is one they may open.
import { and, inArray, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type Database } from '../../src/db/client.js';
import { principals, profileVersions, profiles, requests, reviews } from '../../src/db/schema.js';
import { REQUEST_STATUSES } from '../../src/domain/lifecycle.js';
import { ACCESS_CASES, ALICE, CASE_NOW, caseDefinition, caseRequest, type AccessCase } from '../../src/domain/request-access.cases.js';
import { awaitsReviewBy, isApproverOf, maySeeRequest, type Viewer } from '../../src/domain/request-access.js';
import { approverOfRequestSql, awaitsReviewBySql, maySeeRequestSql } from '../../src/domain/request-access.sql.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  db = openPostgres(database.url, { max: 2 });
  await db.migrate();
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** Writes each case's request as Brevet stores one: its profile version, its row, the viewer's review. */
async function store(cases: { id: string; c: AccessCase }[]): Promise<void> {
  const people = new Set(cases.flatMap(({ c }) => [c.request.requesterId, c.viewer.id]));
  const existing = new Set((await db.db.select({ id: principals.id }).from(principals)).map((row) => row.id));
  const now = CASE_NOW;
  const missing = [...people].filter((id) => !existing.has(id));
  // Rows for the foreign keys only: the rules read the viewer from the caller, never from this row.
  if (missing.length > 0) {
    await db.db.insert(principals).values(missing.map((id) => ({ id, kind: 'person' as const, displayName: id, createdAt: now, updatedAt: now })));
  }
  const built = cases.map(({ id, c }) => ({ id, c, ...caseRequest(c) }));
  await db.db.insert(profiles).values(built.map(({ id }) => ({ id: `prf_${id}`, name: `case-${id}`, currentVersion: 1, createdAt: now, updatedAt: now })));
  await db.db
    .insert(profileVersions)
    .values(built.map(({ id, c }) => ({ profileId: `prf_${id}`, version: 1, definition: caseDefinition(c), createdBy: 'test', createdAt: now })));
  await db.db.insert(requests).values(
    built.map(({ id, c, facts, createdAt, decidedAt }) => ({
      id,
      profileId: `prf_${id}`,
      profileVersion: 1,
      requesterId: c.request.requesterId,
      status: facts.status,
      durationSeconds: facts.durationSeconds,
      justification: c.name,
      startsAt: facts.startsAt,
      endsAt: facts.endsAt,
      approvalsRequired: facts.approvalsRequired,
      breakGlass: facts.breakGlass,
      pendingExpiresAt: facts.pendingExpiresAt,
      createdAt,
      decidedAt,
      updatedAt: createdAt,
    })),
  );
  const reviewRows = built.flatMap(({ id, facts }) =>
    facts.reviews.map((r, n) => ({ id: `rev_${id}_${n}`, requestId: id, reviewerId: r.reviewerId, decision: r.decision, channel: 'api' as const, createdAt: now })),
  );
  if (reviewRows.length > 0) await db.db.insert(reviews).values(reviewRows);
}

/** The ids among `ids` that the condition keeps (undefined keeps all). */
async function kept(ids: string[], condition: SQL | undefined): Promise<Set<string>> {
  const rows = await db.db.select({ id: requests.id }).from(requests).where(and(inArray(requests.id, ids), condition));
  return new Set(rows.map((row) => row.id));
}

async function sqlAnswers(id: string, viewer: Viewer): Promise<{ approver: boolean; sees: boolean; awaitsReview: boolean }> {
  return {
    approver: (await kept([id], approverOfRequestSql(viewer, CASE_NOW))).has(id),
    sees: (await kept([id], maySeeRequestSql(viewer, CASE_NOW))).has(id),
    awaitsReview: (await kept([id], awaitsReviewBySql(viewer, CASE_NOW))).has(id),
  };
}

describe('the table of cases, through SQL', () => {
  const stored = ACCESS_CASES.map((c, n) => ({ id: `req_case_${n}`, c }));
  beforeAll(() => store(stored));

  it.each(stored.map(({ id, c }) => [c.name, id, c] as const))('%s', async (_name, id, c) => {
    expect(await sqlAnswers(id, c.viewer)).toEqual(c.expected);
  });
});

describe('every combination agrees with the pure rules', () => {
  const viewers: Record<string, Viewer> = {
    groupApprover: { id: 'prn_x_bob', kind: 'person', email: 'x.bob@x.com', groups: ['sre'], isAdmin: false, isAuditor: false },
    namedById: { id: 'prn_x_carol', kind: 'person', email: null, groups: [], isAdmin: false, isAuditor: false },
    namedByEmail: { id: 'prn_x_dave', kind: 'person', email: 'X.Dave@x.com', groups: ['dev'], isAdmin: false, isAuditor: false },
    serviceInGroup: { id: 'prn_x_robot', kind: 'service', email: null, groups: ['sre'], isAdmin: false, isAuditor: false },
    serviceNamed: { id: 'prn_x_named_bot', kind: 'service', email: null, groups: [], isAdmin: false, isAuditor: false },
    requesterInGroup: { ...ALICE, groups: ['dev', 'sre'] },
    admin: { id: 'prn_x_admin', kind: 'person', email: 'x.admin@x.com', groups: ['brevet-admins'], isAdmin: true, isAuditor: false },
    auditor: { id: 'prn_x_auditor', kind: 'person', email: 'x.auditor@x.com', groups: [], isAdmin: false, isAuditor: true },
    stranger: { id: 'prn_x_eve', kind: 'person', email: 'x.eve@x.com', groups: ['dev'], isAdmin: false, isAuditor: false },
    tierMember: { id: 'prn_x_lead', kind: 'person', email: 'x.lead@x.com', groups: ['leads'], isAdmin: false, isAuditor: false },
    serviceInTier: { id: 'prn_x_leadbot', kind: 'service', email: null, groups: ['leads'], isAdmin: false, isAuditor: false },
  };
  const combos: { id: string; c: AccessCase }[] = [];
  for (const [who, viewer] of Object.entries(viewers)) {
    for (const status of REQUEST_STATUSES) {
      for (const breakGlass of [false, true]) {
        for (const pendingTtlPassed of [false, true]) {
          for (const [reviewedByViewer, ageSeconds, decidedAfterSeconds] of [
            [undefined, undefined, undefined],
            ['approve', undefined, undefined],
            // Past the escalation tier's moment (120 s), decided before it or after.
            [undefined, 600, 60],
            [undefined, 600, 300],
          ] as const) {
            combos.push({
              id: `req_combo_${combos.length}`,
              c: {
                name: `${who} ${status}${breakGlass ? ' break-glass' : ''}${pendingTtlPassed ? ' past TTL' : ''}${reviewedByViewer === undefined ? '' : ' reviewed'}${ageSeconds === undefined ? '' : ` at ${ageSeconds} s, decided at ${decidedAfterSeconds} s`}`,
                viewer,
                request: {
                  requesterId: ALICE.id,
                  approverGroups: ['sre'],
                  approverPrincipals: ['prn_x_carol', ' x.dave@X.com', 'prn_x_named_bot'],
                  required: 2,
                  status,
                  breakGlass,
                  pendingTtlPassed,
                  reviewedByViewer,
                  ageSeconds,
                  decidedAfterSeconds,
                  escalation: [{ afterSeconds: 120, approverGroups: ['leads'] }],
                },
                expected: { approver: false, sees: false, awaitsReview: false },
              },
            });
          }
        }
      }
    }
  }
  beforeAll(() => store(combos));

  it(`${combos.length} requests: SQL keeps exactly what the pure rules admit`, async () => {
    const seen = { approver: new Set<boolean>(), sees: new Set<boolean>(), awaits: new Set<boolean>() };
    for (const viewer of Object.values(viewers)) {
      const mine = combos.filter(({ c }) => c.viewer === viewer);
      const mineIds = mine.map(({ id }) => id);
      const approver = await kept(mineIds, approverOfRequestSql(viewer, CASE_NOW));
      const sees = await kept(mineIds, maySeeRequestSql(viewer, CASE_NOW));
      const awaits = await kept(mineIds, awaitsReviewBySql(viewer, CASE_NOW));
      for (const { id, c } of mine) {
        const { parties, facts } = caseRequest(c);
        const pure = {
          name: c.name,
          approver: isApproverOf(parties, viewer, CASE_NOW),
          sees: maySeeRequest(parties, viewer, CASE_NOW),
          awaits: awaitsReviewBy(parties, facts, viewer, CASE_NOW),
        };
        expect({ name: c.name, approver: approver.has(id), sees: sees.has(id), awaits: awaits.has(id) }).toEqual(pure);
        seen.approver.add(pure.approver);
        seen.sees.add(pure.sees);
        seen.awaits.add(pure.awaits);
      }
    }
    // The combinations are not all alike: each answer is both true and false somewhere.
    expect(seen).toEqual({ approver: new Set([true, false]), sees: new Set([true, false]), awaits: new Set([true, false]) });
  });
});
