// The evidence tests' harness (SPEC §13): the real app with BREVET_EVIDENCE=true and the real AWS
// SDK clients pointed at local stand-ins through the SDK's own endpoint settings.
import { startAccessAnalyzerStandIn, type AccessAnalyzerStandIn } from '../support/access-analyzer-stand-in.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in.js';

export interface EvidenceHarness {
  t: TestApp;
  analyzer: AccessAnalyzerStandIn;
  aws: AwsStandIn;
  close(): Promise<void>;
}

export async function startEvidenceHarness(options: { env?: Record<string, string>; overrides?: Parameters<typeof startTestApp>[0] } = {}): Promise<EvidenceHarness> {
  const analyzer = await startAccessAnalyzerStandIn();
  const aws = await startAwsStandIn();
  // Each test file runs in its own process (pool: forks), so the SDK's environment is the file's own.
  process.env['AWS_ENDPOINT_URL_ACCESSANALYZER'] = analyzer.url;
  process.env['AWS_ENDPOINT_URL_IAM'] = aws.url;
  process.env['AWS_ENDPOINT_URL_STS'] = aws.url;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDBREVETTEST';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'brevet-own-secret';
  process.env['AWS_REGION'] = 'eu-west-1';
  const t = await startTestApp({
    ...options.overrides,
    env: { BREVET_EVIDENCE: 'true', ...options.env, ...options.overrides?.env },
    overrides: { aws: { maxAttempts: 1, timeoutMs: 1000 }, ...options.overrides?.overrides },
  });
  aws.now = () => t.clock.now();
  return {
    t,
    analyzer,
    aws,
    async close() {
      await t.close();
      await analyzer.close();
      await aws.close();
    },
  };
}
