import type * as IamSdk from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import { classify } from './errors.js';
import type { AwsClientOptions } from './sts.js';

/**
 * IAM is global: any region of the partition signs for it. Without AWS_REGION, us-east-1 (the
 * commercial partition); GovCloud and China need AWS_REGION set, as they need it for STS.
 */
const IAM_FALLBACK_REGION = 'us-east-1';

/** Inline policies of a role, as much of IAM as revocation needs. Documents are JSON text. */
export interface RolePolicyStore {
  /**
   * The ARN of the role by that name in the account of Brevet's credentials; undefined when none;
   * null when this IAM cannot say (it does not know GetRole: an emulator, never AWS).
   */
  roleArn(roleName: string): Promise<string | undefined | null>;
  get(roleName: string, policyName: string): Promise<string | undefined>;
  put(roleName: string, policyName: string, document: string): Promise<void>;
  delete(roleName: string, policyName: string): Promise<void>;
}

/**
 * IAM through the AWS SDK; the endpoint comes from AWS_ENDPOINT_URL_IAM or the SDK default.
 * Errors are classified like STS ones (StsFailure), so callers map them the same way.
 */
export function createIamPolicyStore(options: AwsClientOptions = {}): RolePolicyStore {
  // The SDK is loaded on first use: only revocation calls IAM, so most processes never hold it.
  let loaded: Promise<{ sdk: typeof IamSdk; client: IAMClient }> | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-iam').then((sdk) => ({
      sdk,
      client: new sdk.IAMClient({
        region: options.region ?? process.env['AWS_REGION'] ?? IAM_FALLBACK_REGION,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: options.timeoutMs ?? 5_000, throwOnRequestTimeout: true },
      }),
    })));
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw classify(error);
    }
  };
  return {
    async roleArn(roleName) {
      try {
        const { sdk, client } = await load();
        return (await client.send(new sdk.GetRoleCommand({ RoleName: roleName }))).Role?.Arn;
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchEntityException') return undefined;
        if (isUnknownAction(error)) return null;
        throw classify(error);
      }
    },
    async get(roleName, policyName) {
      try {
        const { sdk, client } = await load();
        const output = await client.send(new sdk.GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
        // IAM returns the document URL-encoded (RFC 3986).
        return output.PolicyDocument === undefined ? undefined : decodeURIComponent(output.PolicyDocument);
      } catch (error) {
        // An IAM that cannot read policies back holds none Brevet must keep: its statements are rebuilt from the database.
        if ((error as { name?: string }).name === 'NoSuchEntityException' || isUnknownAction(error)) return undefined;
        throw classify(error);
      }
    },
    put: (roleName, policyName, document) =>
      call(async () => {
        const { sdk, client } = await load();
        await client.send(new sdk.PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: document }));
      }),
    async delete(roleName, policyName) {
      try {
        const { sdk, client } = await load();
        await client.send(new sdk.DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchEntityException') return;
        throw classify(error);
      }
    },
  };
}

/**
 * An IAM that does not know the action at all (AWS answers an unknown one with InvalidAction; an
 * emulator may answer 404 or 501). AWS knows GetRole and GetRolePolicy, so only a partial
 * emulator ever takes Brevet here, and revocation still puts its statement rather than waiting
 * forever on a question that will never be answered.
 */
function isUnknownAction(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.name ?? '';
  if (/^(InvalidAction|UnknownOperation(Exception)?|NotImplemented|UnsupportedOperation)$/.test(code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return (status === 404 || status === 501) && !code.startsWith('NoSuchEntity');
}
