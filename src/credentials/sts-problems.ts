import type { StsFailure } from '../adapters/aws/sts.js';
import { Problem } from '../http/problems.js';

/** STS failures as problems that tell an operator what to fix (SPEC §4.1). */
export function stsProblem(failure: StsFailure): Problem {
  switch (failure.kind) {
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
    case 'throttled':
      return new Problem('unavailable', 'AWS STS is throttling Brevet; retry in a moment');
    case 'unavailable':
      return new Problem('unavailable', 'AWS STS did not answer in time; retry in a moment');
    case 'rejected':
      return new Problem('upstream-sts', `AWS STS refused the call: ${failure.message}`);
  }
}
