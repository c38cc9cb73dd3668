import type * as AccessAnalyzerSdk from '@aws-sdk/client-accessanalyzer';
import type { AccessAnalyzerClient, ValidatePolicyFinding } from '@aws-sdk/client-accessanalyzer';
import { classify } from './errors.js';
import type { AwsClientOptions } from './sts.js';

/** Access Analyzer is regional; without AWS_REGION, us-east-1 (as for IAM). */
const FALLBACK_REGION = 'us-east-1';

/** One ValidatePolicy finding, as Access Analyzer returns it (SPEC §13 `policyFindings`). */
export interface PolicyFinding {
  findingType: 'ERROR' | 'SECURITY_WARNING' | 'WARNING' | 'SUGGESTION';
  issueCode: string;
  findingDetails: string;
  learnMoreLink: string;
  locations: { path: Record<string, unknown>[]; span: { start: Position; end: Position } }[];
}

interface Position {
  line: number;
  column: number;
  offset: number;
}

/** IAM Access Analyzer's policy checks, for identity policies. Failures are StsFailure (errors.ts). */
export interface PolicyAnalyzer {
  /** Every finding of ValidatePolicy, all pages. */
  validate(policyDocument: string): Promise<PolicyFinding[]>;
  /** CheckAccessNotGranted for one action: true when the policy may grant it (FAIL), false when it cannot (PASS). */
  mayGrant(policyDocument: string, action: string): Promise<boolean>;
}

/** Access Analyzer through the AWS SDK; the endpoint comes from AWS_ENDPOINT_URL_ACCESSANALYZER or the SDK default. */
export function createPolicyAnalyzer(options: AwsClientOptions = {}): PolicyAnalyzer {
  // The SDK is loaded on first use: a deployment without BREVET_EVIDENCE never pays its memory.
  let loaded: Promise<{ sdk: typeof AccessAnalyzerSdk; client: AccessAnalyzerClient }> | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-accessanalyzer').then((sdk) => ({
      sdk,
      client: new sdk.AccessAnalyzerClient({
        region: options.region ?? process.env['AWS_REGION'] ?? FALLBACK_REGION,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: options.timeoutMs ?? 5_000, throwOnRequestTimeout: true },
      }),
    })));
  return {
    async validate(policyDocument) {
      const findings: PolicyFinding[] = [];
      let nextToken: string | undefined;
      try {
        const { sdk, client } = await load();
        do {
          const page = await client.send(new sdk.ValidatePolicyCommand({ policyDocument, policyType: 'IDENTITY_POLICY', nextToken }));
          findings.push(...(page.findings ?? []).map(asFinding));
          nextToken = page.nextToken;
        } while (nextToken !== undefined && nextToken !== '');
      } catch (error) {
        throw classify(error);
      }
      return findings;
    },
    async mayGrant(policyDocument, action) {
      try {
        const { sdk, client } = await load();
        const output = await client.send(
          new sdk.CheckAccessNotGrantedCommand({ policyDocument, policyType: 'IDENTITY_POLICY', access: [{ actions: [action] }] }),
        );
        // Anything but an explicit PASS may grant: the check exists to fail closed.
        return output.result !== 'PASS';
      } catch (error) {
        throw classify(error);
      }
    },
  };
}

/** The SDK's finding with the path elements as the JSON objects AWS sends (`{"index":0}`, `{"key":"Action"}`…). */
function asFinding(f: ValidatePolicyFinding): PolicyFinding {
  return {
    findingType: f.findingType as PolicyFinding['findingType'],
    issueCode: f.issueCode ?? '',
    findingDetails: f.findingDetails ?? '',
    learnMoreLink: f.learnMoreLink ?? '',
    locations: (f.locations ?? []).map((l) => ({
      path: (l.path ?? []).map((element) => Object.fromEntries(Object.entries(element).filter(([key]) => key !== '$unknown'))),
      span: l.span as { start: Position; end: Position },
    })),
  };
}
