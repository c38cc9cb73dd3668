import { startAwsStandIn } from '../../test/support/aws-stand-in.js';
import { BrevetClient, startBrevet } from '../lib/brevet.js';
import { ms, summarise } from '../lib/measure.js';
import { createBenchDatabase, openBenchRedis } from '../lib/services.js';

const ROUNDS = Number(process.env['BENCH_LATENCY_ROUNDS'] ?? '1000');
const WARM_UP = 50;

export interface DecisionLatency {
  approve: ReturnType<typeof summarise>;
  credentials: ReturnType<typeof summarise>;
}

/**
 * Approve and credentials latency at low load (one client, one request at a time), STS answered by
 * the test suite's stand-in on loopback: Brevet's own share of the time from "approve" to "keys".
 * 1,000 rounds: a p99 is then the 10th slowest call, not the 2nd (200 rounds), which on a VM
 * whose single hops now and then stall for milliseconds moved by a third from run to run.
 */
export async function approveAndCredentials(): Promise<DecisionLatency> {
  const aws = await startAwsStandIn();
  const db = await createBenchDatabase('latency');
  const redis = await openBenchRedis();
  try {
    const { api, adminKey } = await startBrevet(db.url, {
      AWS_ENDPOINT_URL_STS: aws.url,
      AWS_ENDPOINT_URL_IAM: aws.url,
      AWS_ACCESS_KEY_ID: 'AKIDBREVETBENCH',
      AWS_SECRET_ACCESS_KEY: 'brevet-bench-secret',
      AWS_REGION: 'eu-west-1',
    });
    try {
      const admin = new BrevetClient(api.url, adminKey);
      await admin.profile('bench', { required: 1, approverGroups: ['bench-sre'] });
      const requester = admin.as((await admin.person('requester', ['bench-dev'])).key);
      const approver = admin.as((await admin.person('approver', ['bench-sre'])).key);
      const approve: number[] = [];
      const credentials: number[] = [];
      for (let round = 0; round < WARM_UP + ROUNDS; round += 1) {
        const request = await requester.call<{ id: string }>('POST', '/v1/requests', { profile: 'bench', durationSeconds: 1800, justification: 'latency round' });
        let started = performance.now();
        const approved = await approver.call<{ status: string }>('POST', `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
        const approveMs = performance.now() - started;
        if (approved.status !== 'active') throw new Error(`approved request is ${approved.status}, not active`);
        started = performance.now();
        await requester.call('POST', `/v1/requests/${request.id}/credentials`, { format: 'credential_process' });
        const credentialsMs = performance.now() - started;
        if (round >= WARM_UP) {
          approve.push(approveMs);
          credentials.push(credentialsMs);
        }
      }
      const result = { approve: summarise(approve), credentials: summarise(credentials) };
      console.log(`  approve: p50 ${ms(result.approve.p50)}, p99 ${ms(result.approve.p99)} (${ROUNDS} requests)`);
      console.log(`  credentials (STS stand-in on loopback): p50 ${ms(result.credentials.p50)}, p99 ${ms(result.credentials.p99)}`);
      return result;
    } finally {
      await api.stop();
    }
  } finally {
    await redis.release();
    await db.drop();
    await aws.close();
  }
}
