import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { classify } from './errors.js';

/** Who Brevet runs as in AWS: the principal its own credentials belong to. */
export interface AwsIdentity {
  /** Rejects with a classified StsFailure (no credentials, no region, expired …). */
  whoAmI(deadline: AbortSignal): Promise<{ arn: string; account: string }>;
}

/** GetCallerIdentity through the SDK's standard configuration, as the issuer uses it; one attempt. */
export function createAwsIdentity(): AwsIdentity {
  return {
    async whoAmI(deadline) {
      const client = new STSClient({ maxAttempts: 1, requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true } });
      try {
        const output = await client.send(new GetCallerIdentityCommand({}), { abortSignal: deadline });
        return { arn: output.Arn ?? 'unknown', account: output.Account ?? 'unknown' };
      } catch (error) {
        throw classify(error);
      } finally {
        client.destroy();
      }
    },
  };
}
