// Issue 10 item 1 (SPEC §1, §3 rule 10): only persons are ever matched by e-mail, OIDC subject or
// Slack user — on every path: OIDC sign-in, Slack clicks and `/brevet` commands, self-linking
// (PATCH /v1/me) and admin linking. A service account is reached by its API keys only. Service
// accounts from before the fix, created with an e-mail (and maybe taken over since), are built here
// on the older schema and must be unreachable after the upgrade.
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, count, eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, principals } from '../../src/db/schema.js';
import { sqlState } from '../../src/db/errors.js';
import { DENIAL_WINDOW_MS } from '../../src/principals/auth-denials.js';
import { auditByAction, expectProblem, fieldsOf, startListeningApp } from '../requests/helpers.js';
import { click, command, ephemeralTexts, type SlackHarness } from '../slack/helpers.js';
import { auth } from '../support/api.js';
import type { TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.js';
import { randomSlackId, startSlackStandIn, type SlackStandIn } from '../support/slack-stand-in.js';

const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const THIS_MIGRATION = '_service_accounts_hold_no_identity';

interface LegacyServiceAccount {
  id: string;
  key: string;
  email: string;
  oidcSubject: string;
  slackUserId: string;
}

let t: TestApp;
let issuer: OidcIssuer;
let slack: SlackStandIn;
/** Each test takes its own legacy service account. */
const legacy: LegacyServiceAccount[] = [];

beforeAll(async () => {
  issuer = await startOidcIssuer();
  slack = await startSlackStandIn();
  const database = await createTestDatabase();
  await migrateBefore(database, THIS_MIGRATION);
  legacy.push(...(await insertLegacyServiceAccounts(database, issuer.issuer, 6)));
  t = await startListeningApp({
    database,
    env: {
      OIDC_ISSUER: issuer.issuer,
      OIDC_AUDIENCE: issuer.audience,
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
    },
  });
  // Two migration passes and a Slack-enabled app: more than the default hook time on a busy machine.
}, 90_000);
afterAll(async () => {
  await t?.close();
  await slack?.close();
  await issuer?.close();
});
// Tokens are minted on the real clock: the app's clock follows it, however long earlier tests took.
beforeEach(() => t.clock.set(new Date()));

/** The database with every migration before `tag`, as an installation that has not upgraded yet. */
async function migrateBefore(database: TestDatabase, tag: string): Promise<void> {
  const source = new URL('../../migrations', import.meta.url).pathname;
  const folder = mkdtempSync(path.join(tmpdir(), 'brevet-migrations-'));
  try {
    cpSync(source, folder, { recursive: true });
    const journalPath = path.join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
    const cut = journal.entries.findIndex((entry) => entry.tag.endsWith(tag));
    expect(cut, `migration ${tag}`).toBeGreaterThan(0);
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }));
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await migrate(drizzle(client), { migrationsFolder: folder });
    } finally {
      await client.end();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Service accounts as the old code allowed them: with an e-mail, a linked OIDC subject and Slack user. */
async function insertLegacyServiceAccounts(database: TestDatabase, issuerUrl: string, n: number): Promise<LegacyServiceAccount[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const accounts: LegacyServiceAccount[] = [];
    for (let i = 0; i < n; i += 1) {
      const tag = randomBytes(5).toString('hex');
      const account = {
        id: `prn_legacy${tag}`,
        key: `brv_${randomBytes(32).toString('base64url')}`,
        email: `ci-bot-${tag}@example.com`,
        oidcSubject: `${issuerUrl} taken-over-${tag}`,
        slackUserId: randomSlackId('U'),
      };
      await client.query(
        `insert into principals (id, kind, email, oidc_subject, display_name, groups, slack_user_id, created_at, updated_at)
         values ($1, 'service', $2, $3, 'ci-bot', '{deployers}', $4, now(), now())`,
        [account.id, account.email, account.oidcSubject, account.slackUserId],
      );
      await client.query(`insert into api_keys (id, principal_id, name, key_hash, created_at) values ($1, $2, 'ci', $3, now())`, [
        `key_legacy${tag}`,
        account.id,
        createHash('sha256').update(account.key).digest('hex'),
      ]);
      accounts.push(account);
    }
    return accounts;
  } finally {
    await client.end();
  }
}

async function rowOf(id: string) {
  const [row] = await t.deps.db.select().from(principals).where(eq(principals.id, id));
  return row!;
}

async function principalCount(): Promise<number> {
  const [row] = await t.deps.db.select({ n: count() }).from(principals);
  return row!.n;
}

async function auditCount(): Promise<number> {
  const [row] = await t.deps.db.select({ n: count() }).from(auditEvents);
  return row!.n;
}

const harness = (): SlackHarness => ({ t, slack, close: async () => {} });
/** Signed `/brevet` command as Slack would send it. */
const brevet = (slackUserId: string, text = '') => command(harness(), slackUserId, text);

describe('service accounts from before the fix', () => {
  it('lose their e-mail, OIDC subject and Slack link on upgrade, and keep working with their API keys', async () => {
    const svc = legacy[0]!;
    expect(await rowOf(svc.id)).toMatchObject({ kind: 'service', email: null, oidcSubject: null, slackUserId: null });
    const me = await t.http().get('/v1/me').set(auth(svc.key)).expect(200);
    expect(me.body).toMatchObject({ id: svc.id, kind: 'service', email: null, authenticatedVia: 'api-key' });
  });

  it("never become the holder of an OIDC token carrying the service account's e-mail, however spelled", async () => {
    const svc = legacy[1]!;
    const spellings = [svc.email, svc.email.toUpperCase(), `  ${svc.email.replace('ci-bot', 'CI-Bot')}\t`];
    for (const [i, email] of spellings.entries()) {
      const token = await issuer.token({ sub: `claimant-${i}-${svc.id}`, email, email_verified: true, groups: ['dev'] });
      const response = await t.http().get('/v1/me').set(auth(token));
      // The first spelling provisions a new person with that e-mail; the next ones are refused
      // because that person holds it. Never the service account.
      if (response.status === 200) expect(response.body).toMatchObject({ kind: 'person', authenticatedVia: 'oidc' });
      else expectProblem(response, 401, 'unauthenticated');
      expect(response.body.id).not.toBe(svc.id);
    }
    expect(await rowOf(svc.id)).toMatchObject({ email: null, oidcSubject: null, groups: ['deployers'] });
  });

  it('are not reached by the OIDC subject a takeover had linked to them', async () => {
    const svc = legacy[2]!;
    const sub = svc.oidcSubject.split(' ')[1]!;
    const token = await issuer.token({ sub, email: undefined, groups: ['deployers'] });
    const me = await t.http().get('/v1/me').set(auth(token)).expect(200);
    expect(me.body).toMatchObject({ kind: 'person', email: null });
    expect(me.body.id).not.toBe(svc.id);
    expect(await rowOf(svc.id)).toMatchObject({ oidcSubject: null });
  });

  it('are not reached from Slack: neither by the Slack user once linked nor by a Slack profile with their e-mail', async () => {
    const svc = legacy[3]!;
    slack.users.set(svc.slackUserId, svc.email);
    const byOldLink = await brevet(svc.slackUserId).expect(200);
    expect(byOldLink.body.text).toMatch(/not linked to a Brevet principal/);

    for (const email of [svc.email, svc.email.toUpperCase(), ` ${svc.email} `]) {
      const slackUserId = randomSlackId('U');
      slack.users.set(slackUserId, email);
      const listed = await brevet(slackUserId).expect(200);
      expect(listed.body.text).toMatch(/not linked to a Brevet principal/);
      const requested = await brevet(slackUserId, 'request some-profile 1h deploy the release').expect(200);
      expect(requested.body.text).toMatch(/Nothing was changed: your Slack account is not linked/);
      await click(harness(), slackUserId, 'approve', 'req_doesnotmatter').expect(200);
      expect(await ephemeralTexts(harness(), slackUserId)).toEqual([expect.stringMatching(/not linked to a Brevet principal/)]);
    }
    expect(await rowOf(svc.id)).toMatchObject({ slackUserId: null });
  });
});

describe('a service account cannot be given an identity', () => {
  it('refuses an e-mail or a Slack user at creation (400 naming the field), and writes nothing', async () => {
    const before = { principals: await principalCount(), audit: await auditCount() };
    const create = (body: Record<string, unknown>) =>
      t.http().post('/v1/principals').set(auth(t.adminKey)).send({ kind: 'service', displayName: 'robot', ...body });

    for (const email of ['robot@example.com', 'ROBOT@Example.com', 'not-an-email']) {
      const refused = await create({ email });
      expectProblem(refused, 400, 'validation');
      expect(fieldsOf(refused.body)).toEqual(['/body/email']);
    }
    const withSlack = await create({ slackUserId: randomSlackId('U') });
    expectProblem(withSlack, 400, 'validation');
    expect(fieldsOf(withSlack.body)).toEqual(['/body/slackUserId']);

    expect({ principals: await principalCount(), audit: await auditCount() }).toEqual(before);
    // Without them it is created, and a null Slack user is no identity.
    await create({ slackUserId: null }).expect(201);
  });

  it('refuses an admin linking a Slack user to a service account (400), and allows clearing it', async () => {
    const svc = await t.principal({ kind: 'service', groups: ['sre'] });
    const slackUserId = randomSlackId('U');
    const refused = await t.http().patch(`/v1/principals/${svc.id}`).set(auth(t.adminKey)).send({ slackUserId });
    expectProblem(refused, 400, 'validation');
    expect(fieldsOf(refused.body)).toEqual(['/body/slackUserId']);
    expect(await rowOf(svc.id)).toMatchObject({ slackUserId: null, groups: ['sre'] });

    await t.http().patch(`/v1/principals/${svc.id}`).set(auth(t.adminKey)).send({ slackUserId: null, groups: ['dev'] }).expect(200);
  });

  it('refuses a service account linking itself to Slack (403) and audits the refusal', async () => {
    const svc = legacy[4]!;
    const slackUserId = randomSlackId('U');
    slack.users.set(slackUserId, svc.email);
    const refused = await t.http().patch('/v1/me').set(auth(svc.key)).send({ slackUserId });
    expectProblem(refused, 403, 'forbidden');
    expect(await rowOf(svc.id)).toMatchObject({ slackUserId: null });
    const [audited] = await auditByAction(t, 'principal.link-refused', svc.id);
    expect(audited!.details).toMatchObject({ principalId: svc.id, slackUserId, reason: 'service-account' });
  });

  it('is refused by the database itself', async () => {
    const svc = legacy[5]!;
    for (const change of [{ email: 'sneaky@example.com' }, { oidcSubject: 'x y' }, { slackUserId: randomSlackId('U') }]) {
      const error = await t.deps.db
        .update(principals)
        .set(change)
        .where(eq(principals.id, svc.id))
        .then(() => undefined, (e: unknown) => e);
      expect(sqlState(error), JSON.stringify(change)).toBe('23514');
    }
  });
});

describe('linking a person by e-mail', () => {
  it('links exactly one of two first sign-ins racing with different subjects, and audits the refused one', async () => {
    const email = `racer-${randomBytes(4).toString('hex')}@example.com`;
    const alice = await t.http().post('/v1/principals').set(auth(t.adminKey)).send({ email, displayName: 'Alice' }).expect(201);
    const tokens = await Promise.all([1, 2, 3].map((n) => issuer.token({ sub: `racer-${n}-${email}`, email })));
    const answers = await Promise.all(tokens.map((token) => t.http().get('/v1/me').set(auth(token))));

    const linked = answers.filter((a) => a.status === 200);
    expect(linked).toHaveLength(1);
    expect(linked[0]!.body.id).toBe(alice.body.id);
    for (const refused of answers.filter((a) => a.status !== 200)) expectProblem(refused, 401, 'unauthenticated');

    // Two refusals of one kind: the first written at once, the second in the window's summary.
    t.clock.advance(DENIAL_WINDOW_MS + 1_000);
    await t.deps.authDenials.flush();
    const denied = (await auditByAction(t, 'auth.denied')).filter((row) => (row.details as { principalId?: string }).principalId === alice.body.id);
    expect(denied).toHaveLength(2);
    for (const row of denied) {
      expect(row.actorKind).toBe('system');
      expect(row.details).toMatchObject({ reason: 'email-linked-to-another-identity', via: 'oidc' });
    }
    expect(denied[1]!.details).toMatchObject({ aggregated: true, count: 1 });
    const [principal] = await t.deps.db.select().from(principals).where(and(eq(principals.id, alice.body.id as string)));
    expect(tokens.map((_, n) => `${issuer.issuer} racer-${n + 1}-${email}`)).toContain(principal!.oidcSubject);
  });
});
