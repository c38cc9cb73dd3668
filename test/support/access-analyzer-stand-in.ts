// A local stand-in for IAM Access Analyzer's policy checks, speaking its REST-JSON protocol
// (POST /policy/validation, POST /policy/check-access-not-granted; JSON in and out; errors as
// x-amzn-ErrorType + {"message"}), so tests drive the real SDK client through
// AWS_ENDPOINT_URL_ACCESSANALYZER. Its judgement is a small honest subset of the real one.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

type PathElement = { index: number } | { key: string } | { value: string };
interface Finding {
  findingType: 'ERROR' | 'SECURITY_WARNING' | 'WARNING' | 'SUGGESTION';
  issueCode: string;
  findingDetails: string;
  learnMoreLink: string;
  locations: { path: PathElement[]; span: { start: Position; end: Position } }[];
}
interface Position {
  line: number;
  column: number;
  offset: number;
}

export interface AccessAnalyzerStandIn {
  url: string;
  /** Every call, in order: the operation and its JSON body. */
  calls: { operation: 'ValidatePolicy' | 'CheckAccessNotGranted'; body: Record<string, unknown> }[];
  /** While true, every call answers 500 InternalServerException (the analyser is down). */
  down: boolean;
  /** Findings per ValidatePolicy page; more than this and the answer is paged with nextToken. */
  pageSize: number;
  close(): Promise<void>;
}

const LEARN = 'https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html';

export async function startAccessAnalyzerStandIn(): Promise<AccessAnalyzerStandIn> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: unknown, errorType?: string) => {
        res.writeHead(status, { 'content-type': 'application/json', ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }) });
        res.end(JSON.stringify(body));
      };
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return send(400, { message: 'Invalid JSON' }, 'ValidationException');
      }
      const operation = url.pathname === '/policy/validation' ? 'ValidatePolicy' : url.pathname === '/policy/check-access-not-granted' ? 'CheckAccessNotGranted' : undefined;
      if (req.method !== 'POST' || operation === undefined) return send(404, { message: 'Not found' }, 'ResourceNotFoundException');
      stand.calls.push({ operation, body });
      if (stand.down) return send(500, { message: 'Internal server error' }, 'InternalServerException');
      const document = body['policyDocument'];
      if (typeof document !== 'string' || body['policyType'] !== 'IDENTITY_POLICY') {
        return send(400, { message: 'policyDocument and policyType are required', reason: 'fieldValidationFailed' }, 'ValidationException');
      }
      let policy: Record<string, unknown>;
      try {
        policy = JSON.parse(document) as Record<string, unknown>;
      } catch {
        return send(400, { message: 'The policy document is not valid JSON', reason: 'fieldValidationFailed' }, 'ValidationException');
      }
      if (operation === 'ValidatePolicy') {
        const findings = validate(document, policy);
        const start = Number(url.searchParams.get('nextToken') ?? '0');
        const page = findings.slice(start, start + stand.pageSize);
        const next = start + stand.pageSize < findings.length ? String(start + stand.pageSize) : undefined;
        return send(200, { findings: page, ...(next === undefined ? {} : { nextToken: next }) });
      }
      const access = body['access'];
      const actions = Array.isArray(access) && access.length === 1 ? (access[0] as { actions?: unknown }).actions : undefined;
      if (!Array.isArray(actions) || actions.length === 0) {
        return send(400, { message: 'access must hold one entry with actions', reason: 'fieldValidationFailed' }, 'ValidationException');
      }
      const granted = (actions as string[]).some((action) => mayGrant(policy, action));
      return send(200, {
        result: granted ? 'FAIL' : 'PASS',
        message: granted ? 'The policy document grants access to perform one or more of the listed actions.' : 'The policy document does not grant access to perform the listed actions.',
        reasons: [],
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stand: AccessAnalyzerStandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: [],
    down: false,
    pageSize: 100,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
  return stand;
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : []);
const statements = (policy: Record<string, unknown>): Record<string, unknown>[] => {
  const raw = policy['Statement'];
  return (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]) as Record<string, unknown>[];
};

/** Where `needle` first appears in the document, as Access Analyzer reports spans (API_Position: line from 1, column and offset from 0). */
function spanOf(document: string, needle: string): { start: Position; end: Position } {
  const offset = Math.max(0, document.indexOf(needle));
  const at = (o: number): Position => {
    const before = document.slice(0, o).split('\n');
    return { line: before.length, column: before.at(-1)!.length, offset: o };
  };
  return { start: at(offset), end: at(offset + needle.length) };
}

/** A few of the real basic checks, with their real issue codes and finding types. */
function validate(document: string, policy: Record<string, unknown>): Finding[] {
  const findings: Finding[] = [];
  const add = (findingType: Finding['findingType'], issueCode: string, findingDetails: string, path: PathElement[], needle: string) =>
    findings.push({ findingType, issueCode, findingDetails, learnMoreLink: `${LEARN}#${issueCode.toLowerCase()}`, locations: [{ path, span: spanOf(document, needle) }] });
  if (policy['Version'] === undefined) add('WARNING', 'MISSING_VERSION', 'We recommend that you specify the Version element to help you with debugging permission issues.', [], '{');
  statements(policy).forEach((s, i) => {
    const actions = list(s['Action']);
    const resources = list(s['Resource']);
    resources.forEach((resource, j) => {
      if (/^arn:aws:s3:[^:]*:\d{12}:/.test(resource)) {
        add('ERROR', 'ARN_ACCOUNT_NOT_ALLOWED', 'The service s3 does not support specifying an account ID in the resource ARN.', [{ value: 'Statement' }, { index: i }, { value: 'Resource' }, { index: j }], resource);
      }
    });
    if (s['Effect'] === 'Allow' && actions.some((a) => a.toLowerCase() === 'iam:passrole' || a === '*' || a === 'iam:*') && resources.includes('*')) {
      add('SECURITY_WARNING', 'PASS_ROLE_WITH_STAR_IN_RESOURCE', 'Using the iam:PassRole action with wildcards (*) in the resource can be overly permissive because it allows iam:PassRole permissions on multiple resources.', [{ value: 'Statement' }, { index: i }, { value: 'Resource' }], '"*"');
    }
    actions.forEach((action, j) => {
      if (actions.indexOf(action) !== j) {
        add('SUGGESTION', 'REDUNDANT_ACTION', `The ${action} action is redundant because it provides similar permissions to another action in the policy.`, [{ value: 'Statement' }, { index: i }, { value: 'Action' }, { index: j }], action);
      }
    });
  });
  return findings;
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');

/** Whether an Allow may grant `action` (itself possibly `svc:*`) and no unconditional Deny takes all of it away. */
function mayGrant(policy: Record<string, unknown>, action: string): boolean {
  const [service] = action.split(':');
  const overlaps = (pattern: string) =>
    action.endsWith(':*') ? pattern === '*' || (pattern.split(':')[0]!.toLowerCase() === service!.toLowerCase()) : glob(pattern).test(action);
  const covers = (pattern: string) => glob(pattern).test(action);
  const all = statements(policy);
  const allowed = all.some((s) => s['Effect'] === 'Allow' && list(s['Action']).some(overlaps));
  const denied = all.some((s) => s['Effect'] === 'Deny' && s['Condition'] === undefined && list(s['Resource']).includes('*') && list(s['Action']).some(covers));
  return allowed && !denied;
}
