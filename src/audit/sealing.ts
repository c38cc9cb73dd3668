import type { Deps } from '../deps.js';
import { createSealer, startSealerLoop } from './sealer.js';

/** The sealer of a process (the worker; the API without one), with what follows each block. */
export function startSealing(deps: Pick<Deps, 'db' | 'clock' | 'auditSigner' | 'logger'>): { stop(): Promise<void> } {
  const logger = deps.logger.child({ component: 'sealer' });
  return startSealerLoop(createSealer({ db: deps.db, clock: deps.clock, signer: deps.auditSigner }), logger);
}
