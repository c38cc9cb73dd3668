import type { Deps } from '../deps.js';
import { createCheckpointWriter } from './checkpoints.js';
import { createSealer, startSealerLoop } from './sealer.js';

/**
 * The sealer of a process (the worker; the API without one): each block is announced as the
 * webhook `audit.checkpoint` and, with BREVET_AUDIT_CHECKPOINT_DIR, appended to the day's file
 * (every block, whichever sealer sealed it).
 */
export function startSealing(deps: Pick<Deps, 'db' | 'clock' | 'auditSigner' | 'logger' | 'webhooks' | 'scheduler' | 'config'>): { stop(): Promise<void> } {
  const logger = deps.logger.child({ component: 'sealer' });
  const sealer = createSealer({
    db: deps.db,
    clock: deps.clock,
    signer: deps.auditSigner,
    webhooks: deps.webhooks,
    queueDeliveries: async (ids) => {
      const now = deps.clock.now();
      for (const deliveryId of ids) await deps.scheduler?.schedule({ name: 'notify', payload: { deliveryId }, runAt: now });
    },
  });
  const dir = deps.config.audit.checkpointDir;
  const checkpoints = dir === undefined ? undefined : createCheckpointWriter(deps.db, dir);
  return startSealerLoop(sealer, logger, async () => {
    await checkpoints?.sync();
  });
}
