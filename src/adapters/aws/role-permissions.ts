import type * as IamSdk from '@aws-sdk/client-iam';
import type { IAMClient } from '@aws-sdk/client-iam';
import { classify, StsFailure } from './errors.js';
import type { AwsClientOptions } from './sts.js';

/** One identity policy of a role: a managed policy at its default version, or an inline one. JSON text. */
export interface RolePolicy {
  name: string;
  document: string;
}

/** What a role's own policies are, read through IAM (SPEC §13). */
export interface RolePermissions {
  /**
   * The managed policies attached to the role (at their default versions) and its inline
   * policies, except inline ones whose name starts with `skipInlinePrefix` (Brevet's own deny
   * policies). Fails (StsFailure `rejected`) when the role is not the one of that ARN in the
   * account of Brevet's credentials: IAM reads only that account.
   */
  policiesOf(roleArn: string, skipInlinePrefix: string): Promise<RolePolicy[]>;
}

/** IAM is global: any region of the partition signs for it (see iam.ts). */
const IAM_FALLBACK_REGION = 'us-east-1';

type Iam = { sdk: typeof IamSdk; client: IAMClient };

export function createRolePermissions(options: AwsClientOptions = {}): RolePermissions {
  // The SDK is loaded on first use: only the sensitive-access check (BREVET_EVIDENCE=true) reads
  // a role's policies, and the SDK is ~4 MB of a process's heap that most processes never need.
  let loaded: Promise<Iam> | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-iam').then((sdk) => ({
      sdk,
      client: new sdk.IAMClient({
        region: options.region ?? process.env['AWS_REGION'] ?? IAM_FALLBACK_REGION,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: { connectionTimeout: 3_000, requestTimeout: options.timeoutMs ?? 5_000, throwOnRequestTimeout: true },
      }),
    })));

  const managed = async ({ sdk, client }: Iam, roleName: string): Promise<RolePolicy[]> => {
    const arns: { name: string; arn: string }[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new sdk.ListAttachedRolePoliciesCommand({ RoleName: roleName, Marker: marker }));
      for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn !== undefined) arns.push({ name: p.PolicyName ?? p.PolicyArn, arn: p.PolicyArn });
      marker = page.IsTruncated === true ? page.Marker : undefined;
    } while (marker !== undefined);
    return Promise.all(
      arns.map(async ({ name, arn }) => {
        const policy = await client.send(new sdk.GetPolicyCommand({ PolicyArn: arn }));
        const version = await client.send(new sdk.GetPolicyVersionCommand({ PolicyArn: arn, VersionId: policy.Policy?.DefaultVersionId }));
        return { name, document: decoded(version.PolicyVersion?.Document, arn) };
      }),
    );
  };

  const inline = async ({ sdk, client }: Iam, roleName: string, skipPrefix: string): Promise<RolePolicy[]> => {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new sdk.ListRolePoliciesCommand({ RoleName: roleName, Marker: marker }));
      names.push(...(page.PolicyNames ?? []).filter((n) => !n.startsWith(skipPrefix)));
      marker = page.IsTruncated === true ? page.Marker : undefined;
    } while (marker !== undefined);
    return Promise.all(
      names.map(async (name) => {
        const output = await client.send(new sdk.GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
        return { name, document: decoded(output.PolicyDocument, name) };
      }),
    );
  };

  return {
    async policiesOf(roleArn, skipInlinePrefix) {
      const roleName = roleArn.slice(roleArn.lastIndexOf('/') + 1);
      try {
        const iam = await load();
        const found = (await iam.client.send(new iam.sdk.GetRoleCommand({ RoleName: roleName }))).Role?.Arn;
        if (found !== roleArn) {
          throw new StsFailure('rejected', `the role ${roleArn} is not in the account of Brevet's credentials, whose policies IAM reads`);
        }
        const [attached, own] = await Promise.all([managed(iam, roleName), inline(iam, roleName, skipInlinePrefix)]);
        return [...attached, ...own];
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchEntityException') {
          throw new StsFailure('rejected', `IAM has no role named ${roleName} in the account of Brevet's credentials`);
        }
        throw classify(error);
      }
    },
  };
}

/** IAM returns policy documents URL-encoded (RFC 3986). */
function decoded(document: string | undefined, what: string): string {
  if (document === undefined) throw new StsFailure('rejected', `IAM returned no document for ${what}`);
  return decodeURIComponent(document);
}
