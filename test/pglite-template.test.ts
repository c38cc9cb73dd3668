// Issue 15, dev start: a new dev-mode database starts from the committed initdb template
// (src/db/pglite-template.ts) instead of running PGlite's initdb, the slowest part of a first start.
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../src/db/pglite.js';
import { installedPgliteVersion, TEMPLATE_DIR, templatePath } from '../src/db/pglite-template.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('the PGlite template', () => {
  it('exists for the installed PGlite, and only for it (after an upgrade: npm run dev:template, delete the old one)', () => {
    expect(existsSync(templatePath()), `${templatePath()} is missing: run npm run dev:template`).toBe(true);
    expect(readdirSync(TEMPLATE_DIR).filter((name) => name.startsWith('pglite-'))).toEqual([`pglite-${installedPgliteVersion()}.tar.br`]);
  });

  it('becomes a data directory that migrates, keeps what is written, and reopens as itself', { timeout: 60_000 }, async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'brevet-template-')), 'pgdata');
    cleanups.push(() => rm(path.dirname(dataDir), { recursive: true, force: true }));
    const first = openPglite(dataDir);
    await first.migrate();
    await first.db.execute(sql`insert into principals (id, kind, display_name, groups, created_at, updated_at) values ('prn_template', 'person', 'T', '{}', now(), now())`);
    await first.close();
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);

    const again = openPglite(dataDir);
    const { rows } = (await again.db.execute(sql`select id from principals where id = 'prn_template'`)) as unknown as { rows: { id: string }[] };
    expect(rows).toEqual([{ id: 'prn_template' }]);
    await again.close();
  });
});
