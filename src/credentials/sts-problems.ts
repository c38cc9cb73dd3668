import type { StsFailure } from '../adapters/aws/errors.js';
import { Problem } from '../http/problems.js';

/**
 * AWS failures as problems that say what to fix (SPEC §4.1, issue 11). The status tells who
 * must act: 503 `unavailable` when Brevet itself cannot call AWS — its own credentials or region,
 * throttling, an endpoint that does not answer — which no change to the request or the profile
 * can fix; 502 `upstream-sts` when AWS refused this AssumeRole because of the profile's role,
 * trust policy, session policy or region.
 */
export function stsProblem(failure: StsFailure): Problem {
  switch (failure.kind) {
    case 'no-credentials':
      return new Problem(
        'unavailable',
        "Brevet has no AWS credentials: the AWS SDK found none in its default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, a container or instance role, a web identity token). An operator must give Brevet's process credentials (docs/aws-setup.md)",
      );
    case 'expired-credentials':
      return new Problem(
        'unavailable',
        `Brevet's own AWS credentials have expired (${failure.message}). An operator must renew them: session credentials in the environment (AWS_SESSION_TOKEN) do not refresh themselves; run Brevet on a role or a profile the SDK refreshes`,
      );
    case 'invalid-credentials':
      return new Problem(
        'unavailable',
        `AWS does not accept Brevet's own credentials (${failure.message}): the access key is unknown, deactivated or mistyped, or the secret does not match it. An operator must fix the credentials Brevet runs with`,
      );
    case 'no-region':
      return new Problem(
        'unavailable',
        "No AWS region is configured for STS: set AWS_REGION in Brevet's environment (or `region` in its AWS profile), or give the profile a region",
      );
    case 'throttled':
      return new Problem('unavailable', 'AWS STS is throttling Brevet; retry in a moment');
    case 'unavailable':
      return new Problem('unavailable', 'AWS STS did not answer in time; retry in a moment');
    case 'access-denied':
      return new Problem(
        'upstream-sts',
        "AWS denied AssumeRole: the role's trust policy must allow Brevet's principal sts:AssumeRole, sts:SetSourceIdentity and sts:TagSession (and the ExternalId, if the profile sets one)",
      );
    case 'malformed-policy':
      return new Problem('upstream-sts', "AWS refused the session policy as malformed: fix the profile's sessionPolicy or the request scope");
    case 'policy-too-large':
      return new Problem('upstream-sts', "AWS refused the session policy and tags as too large: shorten the profile's sessionPolicy or sessionTags");
    case 'region-disabled':
      return new Problem('upstream-sts', "STS is not activated in the profile's region: activate it in IAM account settings or change the profile region");
    case 'rejected':
      return new Problem('upstream-sts', `AWS STS refused the call: ${failure.message}`);
  }
}
