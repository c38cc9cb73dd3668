// First: the heap growth limit holds for every module loaded after it (src/lib/memory-flags.ts).
import './lib/heap-growth.js';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { DemoSeed } from './dev/demo.js';
import { embeddedDatabaseProgress, publicBaseUrl, readyText } from './dev/first-run.js';
import { SHUTDOWN_GRACE_MS, exitOnSignals, withGrace } from './lib/graceful-shutdown.js';
import { createProcessLogger } from './logging.js';

/** A given bootstrap key shorter than this is taken, with a warning: Brevet's own keys have 43 random characters. */
const STRONG_KEY_LENGTH = 32;

/** Without Redis the timed work runs from this loop inside the API process (SPEC §5). */
const IN_PROCESS_RECONCILE_MS = 1_000;

/** Process entry of the API: parse config, build, migrate, listen, and close cleanly on SIGTERM. */
async function main(): Promise<void> {
  const config = parseConfigOrExit();
  const devMode = config.databaseUrl === undefined;
  const logger = createProcessLogger(config.logLevel, { devMode });
  if (devMode) {
    logger.warn(
      { dataDir: config.dataDir },
      'DEV MODE: embedded PGlite database, timed work in this process. For trying Brevet, not for production (set DATABASE_URL and REDIS_URL).',
    );
  }

  // `npm start -- --demo` passes the flag through to this process.
  // Half of Slack is allowed (SPEC §9 lists the two apart), and said at every start.
  if (config.slack.signingSecret !== undefined && config.slack.botToken === undefined) {
    logger.warn('SLACK_SIGNING_SECRET without SLACK_BOT_TOKEN: Slack calls are verified and acted on, but Brevet posts nothing to Slack and cannot look up Slack users not yet linked');
  } else if (config.slack.botToken !== undefined && config.slack.signingSecret === undefined) {
    logger.warn('SLACK_BOT_TOKEN without SLACK_SIGNING_SECRET: Brevet posts to Slack, but no Slack call can be verified, so its buttons and /brevet do nothing');
  }
  const demo = config.demo || process.argv.slice(2).includes('--demo');
  if (demo && !devMode) logger.warn('BREVET_DEMO / --demo ignored: the demo people and profile are for dev mode only (no DATABASE_URL)');

  // Creating and migrating the embedded database takes seconds on a first start: say so, on the
  // terminal, and start it before loading the rest of Brevet, so that PGlite's WASM start and the
  // migrations overlap the module loading (about 5 s less for a first start on 2 busy cores).
  const progress = devMode ? embeddedDatabaseProgress(config.dataDir, (text) => process.stdout.write(text)) : undefined;
  const embedded = devMode ? (await import('./db/pglite.js')).openPglite(path.join(config.dataDir, 'pgdata')) : undefined;
  const embeddedMigrated = config.migrateOnStart ? embedded?.migrate() : undefined;
  // Awaited below; until then a failure must not count as an unhandled rejection.
  embeddedMigrated?.catch(() => undefined);
  const [{ buildApp }, { buildDeps }, { startReconcilerLoop }, { startSealing }, { seedDemo }, { countCatchups }, { runSelfChecks }, { ensureBootstrapAdmin }] = await Promise.all([
    import('./app.js'),
    import('./deps.js'),
    import('./jobs/reconciler.js'),
    import('./audit/sealing.js'),
    import('./dev/demo.js'),
    import('./metrics/observe.js'),
    import('./ops/self-checks.js'),
    import('./principals/bootstrap-admin.js'),
  ]);
  const deps = buildDeps(config, logger, embedded === undefined ? {} : { database: embedded });
  if (config.migrateOnStart) await (embeddedMigrated ?? deps.database.migrate());
  progress?.done();
  const bootstrap = await ensureBootstrapAdmin(deps, {
    adminGroups: config.adminGroups,
    givenKey: config.bootstrapAdminKey,
    generate: devMode,
  });
  // A generated key (dev mode only) is printed once, to the terminal when ready (below), never to the structured log.
  if (bootstrap !== undefined && !bootstrap.generated) {
    logger.info('bootstrap admin installed with BREVET_BOOTSTRAP_ADMIN_KEY');
    if (bootstrap.key.length < STRONG_KEY_LENGTH) {
      logger.warn(
        `BREVET_BOOTSTRAP_ADMIN_KEY is under ${STRONG_KEY_LENGTH} characters: whoever guesses it is an administrator. ` +
          'For anything but a test, give this admin a random key (POST /v1/principals/{id}/api-keys) and delete this one.',
      );
    }
  } else if (config.bootstrapAdminKey !== undefined) {
    // Changing the variable does not rotate a key: say so instead of failing silently.
    logger.warn('BREVET_BOOTSTRAP_ADMIN_KEY ignored: the database already has an enabled administrator');
  }

  const reconciler =
    deps.scheduler === undefined
      ? startReconcilerLoop({ ...deps, logger: logger.child({ component: 'reconciler' }) }, IN_PROCESS_RECONCILE_MS, (report) =>
          countCatchups(deps.metrics, report),
        )
      : undefined;
  if (reconciler !== undefined) logger.info('no REDIS_URL: timed work runs from the in-process reconciler');
  // Without a worker (dev mode, or no Redis), this process seals the audit trail too.
  const sealing = deps.scheduler === undefined ? startSealing(deps) : undefined;

  const app = await buildApp(deps);
  exitOnSignals(logger, async () => {
    // Stops accepting (new requests get 503 while it closes), waits for the in-flight ones; a
    // request still running after the grace period has its connection closed.
    await withGrace(app.close(), SHUTDOWN_GRACE_MS, () => {
      logger.warn('requests still running after the grace period: closing their connections');
      app.server.closeAllConnections();
    });
    await reconciler?.stop();
    await sealing?.stop();
    await deps.close();
  });

  const seeded: DemoSeed | undefined = devMode && demo ? await seedDemo(deps) : undefined;
  await app.listen({ port: config.port, host: config.host });
  // After listening, so a slow AWS or Redis answer never delays readiness; each finding is logged once.
  void runSelfChecks(deps).catch((error: unknown) => logger.warn({ err: error }, 'start-up self-checks could not run'));
  if (devMode) {
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    process.stdout.write(
      readyText({
        url: publicBaseUrl(config.host, port),
        generatedKey: bootstrap?.generated === true ? bootstrap.key : undefined,
        givenKeyInstalled: bootstrap !== undefined && !bootstrap.generated,
        demo: seeded,
      }),
    );
  }
}

function parseConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`brevet: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`brevet: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
