import type { PolicyAnalyzer, PolicyFinding } from '../adapters/aws/access-analyzer.js';
import type { StsFailure } from '../adapters/aws/errors.js';
import { classify } from '../adapters/aws/errors.js';
import { Problem } from '../http/problems.js';

export type ValidateDeps = { config: { evidence: { enabled: boolean } }; policyAnalyzer: PolicyAnalyzer };

/** What ValidatePolicy said of a policy, or why it could not say. */
export type Validation = { ok: true; findings: PolicyFinding[] } | { ok: false; failure: StsFailure };

/**
 * Runs Access Analyzer's ValidatePolicy on a policy document (SPEC §13). Never throws: an
 * unreachable analyser is an answer the caller decides about (a profile save refuses, a request
 * goes on with its evidence saying so).
 */
export async function validatePolicy(deps: Pick<ValidateDeps, 'policyAnalyzer'>, document: string): Promise<Validation> {
  try {
    return { ok: true, findings: await deps.policyAnalyzer.validate(document) };
  } catch (error) {
    return { ok: false, failure: classify(error) };
  }
}

/** An ERROR finding refuses the save or request: 400 `validation` naming the field, the issue and where it is. */
export function refuseErrors(findings: readonly PolicyFinding[], field: string): void {
  const errors = findings
    .filter((f) => f.findingType === 'ERROR')
    .map((f) => ({ field, message: `${f.issueCode}: ${f.findingDetails}${where(f)}` }));
  if (errors.length > 0) throw new Problem('validation', `${field} ${errors[0]!.message}`, { errors });
}

/** `(line 3, column 5)` from the finding's first location, as Access Analyzer counts them. */
function where(finding: PolicyFinding): string {
  const start = finding.locations[0]?.span.start;
  return start === undefined ? '' : ` (line ${start.line}, column ${start.column})`;
}

/**
 * A profile's session policy, validated before the save (SPEC §13): ERROR findings refuse it (400),
 * other findings are returned to be kept on the version; null when evidence is off or there is no
 * policy. Access Analyzer unreachable → 503 `unavailable`, and nothing is saved.
 */
export async function profilePolicyFindings(deps: ValidateDeps, policy: Record<string, unknown> | null): Promise<PolicyFinding[] | null> {
  if (!deps.config.evidence.enabled || policy === null) return null;
  const validation = await validatePolicy(deps, JSON.stringify(policy));
  if (!validation.ok) {
    const { kind, message } = validation.failure;
    // AWS judged the document itself (too large, not a policy): the admin fixes the policy.
    if (kind === 'rejected' || kind === 'malformed-policy') {
      throw new Problem('validation', `/body/sessionPolicy ${message}`, { errors: [{ field: '/body/sessionPolicy', message }] });
    }
    throw new Problem('unavailable', `IAM Access Analyzer could not validate the session policy (${kind}); nothing was saved, retry in a moment`);
  }
  refuseErrors(validation.findings, '/body/sessionPolicy');
  return validation.findings;
}
