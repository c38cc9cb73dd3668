import path from 'node:path';
import { createFederationSignIn, type ConsoleSignIn } from './adapters/aws/federation.js';
import { createIamPolicyStore, type RolePolicyStore } from './adapters/aws/iam.js';
import { createStsIssuer, type AwsClientOptions, type CredentialIssuer } from './adapters/aws/sts.js';
import { systemClock, type Clock } from './adapters/clock.js';
import { createOidcVerifier, type TokenVerifier } from './adapters/oidc.js';
import type { Config } from './config.js';
import { openPglite, openPostgres, type Database, type Db } from './db/client.js';
import { createAuthenticator, type Authenticator } from './http/authenticate.js';
import { reconcilerOnlyEffects, type RequestEffects } from './requests/effects.js';

/** Everything commands, routes and jobs need, built in one place for the server, the worker and the tests. */
export interface Deps {
  config: Config;
  database: Database;
  db: Db;
  clock: Clock;
  authenticator: Authenticator;
  effects: RequestEffects;
  sts: CredentialIssuer;
  rolePolicies: RolePolicyStore;
  consoleSignIn: ConsoleSignIn;
  /** Optional probes of services beyond the database, for /readyz. */
  readinessChecks: Record<string, () => Promise<void>>;
  close(): Promise<void>;
}

export interface DepsOverrides {
  clock?: Clock;
  database?: Database;
  tokenVerifier?: TokenVerifier;
  effects?: RequestEffects;
  /** Tests shorten the AWS timeouts and retries; production keeps the defaults. */
  aws?: AwsClientOptions;
}

export function buildDeps(config: Config, overrides: DepsOverrides = {}): Deps {
  const clock = overrides.clock ?? systemClock;
  const database =
    overrides.database ??
    (config.databaseUrl !== undefined ? openPostgres(config.databaseUrl) : openPglite(path.join(config.dataDir, 'pgdata')));
  const tokenVerifier = overrides.tokenVerifier ?? (config.oidc === undefined ? undefined : createOidcVerifier(config.oidc, clock));
  const authenticator = createAuthenticator({
    db: database.db,
    clock,
    roles: { adminGroups: config.adminGroups, auditorGroups: config.auditorGroups },
    tokenVerifier,
  });
  return {
    config,
    database,
    db: database.db,
    clock,
    authenticator,
    effects: overrides.effects ?? reconcilerOnlyEffects,
    sts: createStsIssuer(overrides.aws),
    rolePolicies: createIamPolicyStore(overrides.aws),
    consoleSignIn: createFederationSignIn(config.federationUrl),
    readinessChecks: {},
    async close() {
      await database.close();
    },
  };
}
