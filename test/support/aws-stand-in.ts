// A local stand-in for AWS STS and IAM that speaks their *query protocol*
// (form-encoded POST in, namespaced XML out), so integration tests can point the
// real AWS SDK at it and exercise SigV4 signing, serialisation and XML parsing.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AssumeRoleCall {
  roleArn: string;
  roleSessionName: string;
  durationSeconds?: number;
  externalId?: string;
  sourceIdentity?: string;
  policy?: string;
  tags: { key: string; value: string }[];
  transitiveTagKeys: string[];
  /** The SigV4 Authorization header, to prove the request was signed. */
  authorization: string | undefined;
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export type StsFault =
  | { kind: 'error'; code: string; message: string; status: number }
  | { kind: 'hang' } // accept the request and never answer; close() still ends the socket
  | { kind: 'http-500' };

export interface AwsStandIn {
  url: string; // http://127.0.0.1:PORT — one server for STS and IAM, dispatched on Action
  now: () => Date; // Expiration = now() + DurationSeconds
  assumeRoleCalls: AssumeRoleCall[];
  /** Every credential set handed out, so tests can search logs/responses for leaks. */
  issued: IssuedCredentials[];
  /** The next N AssumeRole calls fail with these faults, in order. */
  failNextAssumeRole(...faults: StsFault[]): void;
  /** IAM inline role policies: roleName -> policyName -> decoded JSON document. */
  rolePolicies: Map<string, Map<string, string>>;
  /** The account IAM answers for (GetRole ARNs): Brevet's own account. */
  account: string;
  /**
   * Role names that do not exist in that account (every other name does). IAM answers
   * NoSuchEntity for them; STS, which does not tell a missing role from a forbidden one,
   * answers AccessDenied.
   */
  missingRoles: Set<string>;
  /** IAM managed policies by ARN: each version's decoded JSON document, and which is the default. */
  managedPolicies: Map<string, { name: string; defaultVersionId: string; versions: Map<string, string> }>;
  /** Managed policy ARNs attached to each role, by role name. */
  attachedPolicies: Map<string, string[]>;
  /** Items per page of ListAttachedRolePolicies / ListRolePolicies (IAM pages with Marker and IsTruncated). */
  iamPageSize: number;
  iamCalls: { action: string; params: Record<string, string> }[];
  failNextIam(...faults: StsFault[]): void;
  /**
   * The caller's own credentials, as AWS judges them before any action: a session token
   * (x-amz-security-token) in this set is expired (403 ExpiredToken), an access key id in
   * `unknownAccessKeys` does not exist (403 InvalidClientTokenId).
   */
  expiredSessionTokens: Set<string>;
  unknownAccessKeys: Set<string>;
  /** Runs when an AssumeRole arrives, before it is looked at: a test's look at the world at that moment. */
  beforeAssumeRole?: (roleSessionName: string) => Promise<void>;
  close(): Promise<void>;
}

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const IAM_ACTIONS = new Set([
  'GetRole',
  'GetRolePolicy',
  'PutRolePolicy',
  'DeleteRolePolicy',
  'ListRolePolicies',
  'ListAttachedRolePolicies',
  'GetPolicy',
  'GetPolicyVersion',
]);
const NAME_PATTERN = /^[\w+=,.@-]*$/;
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const BASE64ISH = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

const xmlEscape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);

/** `<Tag>escaped</Tag>`, or nothing when the value is absent (AWS omits empty optionals). */
const el = (tag: string, value: string | number | undefined): string =>
  value === undefined ? '' : `<${tag}>${xmlEscape(String(value))}</${tag}>`;

const randomFrom = (alphabet: string, length: number): string =>
  Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');

/** AWS prints timestamps without milliseconds; truncate so `issued` matches what the SDK parses. */
const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);
const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const isJson = (s: string): boolean => {
  try {
    return JSON.parse(s) !== undefined;
  } catch {
    return false;
  }
};

/** Collect `Prefix.member.1`, `Prefix.member.2`, … (query-protocol lists) in index order. */
const memberIndexes = (params: URLSearchParams, prefix: string): number[] => {
  const re = new RegExp(`^${prefix}\\.member\\.(\\d+)(?:\\.|$)`);
  const found = new Set<number>();
  for (const key of params.keys()) {
    const m = re.exec(key);
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
};

class AwsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

const checkName = (problems: string[], field: string, value: string | undefined, required: boolean): void => {
  if (value === undefined) {
    if (required) problems.push(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return;
  }
  if (value.length < 2 || value.length > 64)
    problems.push(`Value '${value}' at '${field}' failed to satisfy constraint: Member must have length between 2 and 64`);
  else if (!NAME_PATTERN.test(value))
    problems.push(`Value '${value}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
};

export async function startAwsStandIn(opts: { now?: () => Date } = {}): Promise<AwsStandIn> {
  const assumeRoleFaults: StsFault[] = [];
  /** Sessions handed out, by access key id: GetCallerIdentity answers for them as AWS does. */
  const sessions = new Map<string, { account: string; roleName: string; sessionName: string }>();
  const iamFaults: StsFault[] = [];

  // The request id goes in the body and in x-amzn-RequestId, where the SDK reads $metadata.requestId.
  const send = (res: ServerResponse, status: number, body: (requestId: string) => string): void => {
    const requestId = randomUUID();
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body(requestId)}`);
  };

  const sendError = (res: ServerResponse, ns: string, err: AwsError): void =>
    send(res, err.status, (id) =>
      `<ErrorResponse xmlns="${ns}"><Error><Type>${err.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `${el('Code', err.code)}${el('Message', err.message)}</Error>${el('RequestId', id)}</ErrorResponse>`);

  /** `<XResponse><XResult>…</XResult><ResponseMetadata>…` — the envelope every query-protocol success uses. */
  const sendResult = (res: ServerResponse, ns: string, action: string, result: string | undefined): void =>
    send(res, 200, (id) =>
      `<${action}Response xmlns="${ns}">${result === undefined ? '' : `<${action}Result>${result}</${action}Result>`}` +
      `<ResponseMetadata>${el('RequestId', id)}</ResponseMetadata></${action}Response>`);

  /** Applies a queued fault; returns true when the response has been taken care of. */
  const applyFault = (res: ServerResponse, ns: string, fault: StsFault | undefined): boolean => {
    if (!fault) return false;
    if (fault.kind === 'hang') return true; // never answer; close() destroys the socket
    if (fault.kind === 'http-500') {
      // A bare 500 with no AWS error document, as from a failing front end.
      res.writeHead(500, { 'content-length': '0' });
      res.end();
      return true;
    }
    sendError(res, ns, new AwsError(fault.code, fault.message, fault.status));
    return true;
  };

  /** Parses and records an AssumeRole call — every call, even ones later faulted or rejected. */
  const recordAssumeRole = (params: URLSearchParams, authorization: string | undefined): AssumeRoleCall => {
    const get = (k: string): string | undefined => params.get(k) ?? undefined;
    const optional = <K extends string, V>(key: K, value: V | undefined) =>
      (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
    const duration = get('DurationSeconds');
    const call: AssumeRoleCall = {
      roleArn: get('RoleArn') ?? '',
      roleSessionName: get('RoleSessionName') ?? '',
      ...optional('durationSeconds', duration === undefined ? undefined : Number(duration)),
      ...optional('externalId', get('ExternalId')),
      ...optional('sourceIdentity', get('SourceIdentity')),
      ...optional('policy', get('Policy')),
      tags: memberIndexes(params, 'Tags').map((i) => ({
        key: get(`Tags.member.${i}.Key`) ?? '',
        value: get(`Tags.member.${i}.Value`) ?? '',
      })),
      transitiveTagKeys: memberIndexes(params, 'TransitiveTagKeys').map((i) => get(`TransitiveTagKeys.member.${i}`) ?? ''),
      authorization,
    };
    stand.assumeRoleCalls.push(call);
    return call;
  };

  /** Validates like AWS (all constraint violations in one ValidationError), then mints credentials. */
  const validateAndIssue = (call: AssumeRoleCall, params: URLSearchParams): string => {
    const roleArn = params.get('RoleArn') ?? undefined;
    const sessionName = params.get('RoleSessionName') ?? undefined;
    const problems: string[] = [];
    const arn = roleArn === undefined ? undefined : /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:[^/]+\/)*([\w+=,.@-]+)$/.exec(roleArn);
    if (roleArn === undefined) problems.push(`Value null at 'roleArn' failed to satisfy constraint: Member must not be null`);
    else if (!arn) problems.push(`Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must be a valid role ARN`);
    checkName(problems, 'roleSessionName', sessionName, true);
    checkName(problems, 'sourceIdentity', call.sourceIdentity, false);
    const duration = call.durationSeconds;
    if (duration !== undefined && !(Number.isInteger(duration) && duration >= 900 && duration <= 43200))
      problems.push(`Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
    if (problems.length > 0 || !arn) {
      const count = `${problems.length} validation error${problems.length === 1 ? '' : 's'}`;
      throw new AwsError('ValidationError', `${count} detected: ${problems.join('; ')}`);
    }
    if (call.policy !== undefined && !isJson(call.policy))
      throw new AwsError('MalformedPolicyDocument', 'The policy is not in the valid JSON format.');

    const [, account, roleName] = arn;
    if (account === stand.account && stand.missingRoles.has(roleName!)) {
      throw new AwsError('AccessDenied', `User: arn:aws:iam::${stand.account}:user/brevet is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, 403);
    }
    const expiration = wholeSeconds(new Date(stand.now().getTime() + (duration ?? 3600) * 1000));
    const creds: IssuedCredentials = {
      accessKeyId: `ASIA${randomFrom(UPPER_ALNUM, 16)}`,
      secretAccessKey: randomFrom(BASE64ISH, 40),
      sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(300).toString('base64')}`,
      expiration,
    };
    stand.issued.push(creds);
    sessions.set(creds.accessKeyId, { account: account!, roleName: roleName!, sessionName: sessionName! });
    // Real role IDs are stable per role, so derive it from the ARN rather than randomising.
    const roleId = `AROA${Array.from(createHash('sha256').update(call.roleArn).digest().subarray(0, 17), (b) => UPPER_ALNUM[b % 36]).join('')}`;
    // Rough stand-in for AWS's compressed-size percentage; only reported when a policy or tags were sent.
    const packed = call.policy !== undefined || call.tags.length > 0
      ? Math.ceil(((call.policy?.length ?? 0) + JSON.stringify(call.tags).length) / 40)
      : undefined;
    return (
      `<Credentials>${el('AccessKeyId', creds.accessKeyId)}${el('SecretAccessKey', creds.secretAccessKey)}` +
      `${el('SessionToken', creds.sessionToken)}${el('Expiration', isoSeconds(expiration))}</Credentials>` +
      `<AssumedRoleUser>${el('AssumedRoleId', `${roleId}:${sessionName}`)}` +
      `${el('Arn', `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`)}</AssumedRoleUser>` +
      `${el('PackedPolicySize', packed)}${el('SourceIdentity', call.sourceIdentity)}`
    );
  };

  /** One page of a list, as IAM pages: MaxItems, an opaque Marker, IsTruncated. */
  const paged = <T>(items: T[], params: URLSearchParams, render: (page: T[]) => string): string => {
    const start = Number(params.get('Marker') ?? '0');
    const size = Math.min(Number(params.get('MaxItems') ?? stand.iamPageSize), stand.iamPageSize);
    const more = start + size < items.length;
    return `${render(items.slice(start, start + size))}<IsTruncated>${more}</IsTruncated>${more ? el('Marker', String(start + size)) : ''}`;
  };

  /** Managed policies: GetPolicy and GetPolicyVersion; undefined for other actions. */
  const managedPolicy = (action: string, params: URLSearchParams): string | undefined => {
    const arn = params.get('PolicyArn') ?? '';
    const policy = stand.managedPolicies.get(arn);
    if (action !== 'GetPolicy' && action !== 'GetPolicyVersion') return undefined;
    if (policy === undefined) throw new AwsError('NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`, 404);
    if (action === 'GetPolicy') {
      return `<Policy>${el('PolicyName', policy.name)}${el('DefaultVersionId', policy.defaultVersionId)}${el('Arn', arn)}${el('Path', '/')}<IsAttachable>true</IsAttachable></Policy>`;
    }
    const versionId = params.get('VersionId') ?? '';
    const doc = policy.versions.get(versionId);
    if (doc === undefined) throw new AwsError('NoSuchEntity', `Policy ${arn} version ${versionId} does not exist or is not attachable.`, 404);
    // Like GetRolePolicy, the document comes back URL-encoded.
    return `<PolicyVersion>${el('Document', encodeURIComponent(doc))}${el('VersionId', versionId)}<IsDefaultVersion>${versionId === policy.defaultVersionId}</IsDefaultVersion></PolicyVersion>`;
  };

  /** IAM handlers: return the Result body, or undefined for actions whose response has no Result element. */
  const iam = (action: string, params: URLSearchParams): string | undefined => {
    const managed = managedPolicy(action, params);
    if (managed !== undefined) return managed;
    const roleName = params.get('RoleName') ?? '';
    const policyName = params.get('PolicyName') ?? '';
    const policies = stand.rolePolicies.get(roleName);
    const noSuchPolicy = (): AwsError =>
      new AwsError('NoSuchEntity', `The role policy with name ${policyName} cannot be found.`, 404);
    if (stand.missingRoles.has(roleName)) throw new AwsError('NoSuchEntity', `The role with name ${roleName} cannot be found.`, 404);
    switch (action) {
      case 'GetRole':
        // Roles are implicit: every name not in missingRoles exists, in the account of the caller's credentials.
        return `<Role>${el('RoleName', roleName)}${el('Arn', `arn:aws:iam::${stand.account}:role/${roleName}`)}${el('Path', '/')}</Role>`;
      case 'GetRolePolicy': {
        const doc = policies?.get(policyName);
        if (doc === undefined) throw noSuchPolicy();
        // IAM returns the document URL-encoded (RFC 3986); callers must decode it.
        return `${el('RoleName', roleName)}${el('PolicyName', policyName)}${el('PolicyDocument', encodeURIComponent(doc))}`;
      }
      case 'PutRolePolicy': {
        const doc = params.get('PolicyDocument') ?? '';
        if (!isJson(doc)) throw new AwsError('MalformedPolicyDocument', 'Syntax errors in policy.');
        // All of a role's inline policies together, whitespace not counted (IAM quotas), HTTP 409.
        const size = (text: string) => text.replace(/\s/g, '').length;
        const others = [...(policies ?? new Map<string, string>())].filter(([name]) => name !== policyName).reduce((sum, [, text]) => sum + size(text), 0);
        if (others + size(doc) > 10_240) throw new AwsError('LimitExceeded', `Maximum policy size of 10240 bytes exceeded for role ${roleName}`, 409);
        if (!policies) stand.rolePolicies.set(roleName, new Map([[policyName, doc]]));
        else policies.set(policyName, doc);
        return undefined;
      }
      case 'DeleteRolePolicy':
        if (!policies?.delete(policyName)) throw noSuchPolicy();
        return undefined;
      case 'ListAttachedRolePolicies':
        return paged(stand.attachedPolicies.get(roleName) ?? [], params, (page) =>
          `<AttachedPolicies>${page.map((arn) => `<member>${el('PolicyName', stand.managedPolicies.get(arn)?.name ?? arn.slice(arn.lastIndexOf('/') + 1))}${el('PolicyArn', arn)}</member>`).join('')}</AttachedPolicies>`);
      default: // ListRolePolicies — roles are implicit here, so an unknown role simply has none
        return paged([...(policies?.keys() ?? [])], params, (page) => `<PolicyNames>${page.map((n) => el('member', n)).join('')}</PolicyNames>`);
    }
  };

  /** AWS authenticates the caller before it looks at the action; query-protocol codes, HTTP 403. */
  const checkCaller = (headers: IncomingHttpHeaders): void => {
    const token = headers['x-amz-security-token'];
    if (typeof token === 'string' && stand.expiredSessionTokens.has(token)) {
      throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 403);
    }
    const accessKeyId = /Credential=([^/]+)\//.exec(headers.authorization ?? '')?.[1];
    if (accessKeyId !== undefined && stand.unknownAccessKeys.has(accessKeyId)) {
      throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // Query protocol allows parameters in the URL (GET) or the form body (POST, what the SDK sends).
      const params = new URLSearchParams(new URL(req.url ?? '/', 'http://x').search);
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params.set(k, v);
      const action = params.get('Action') ?? '';
      const isIam = IAM_ACTIONS.has(action);
      const ns = isIam || params.get('Version') === '2010-05-08' ? IAM_NS : STS_NS;
      const before = action === 'AssumeRole' ? stand.beforeAssumeRole : undefined;
      if (before === undefined) handle();
      else void before(params.get('RoleSessionName') ?? '').then(handle);

      function handle() {
        try {
          checkCaller(req.headers);
          if (action === 'AssumeRole') {
            const call = recordAssumeRole(params, req.headers.authorization);
            if (applyFault(res, ns, assumeRoleFaults.shift())) return;
            sendResult(res, ns, action, validateAndIssue(call, params));
          } else if (action === 'GetCallerIdentity') {
            // Who the caller is: a session this stand-in handed out, else Brevet's own IAM user in its account.
            const accessKeyId = /Credential=([A-Z0-9]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? '';
            const session = sessions.get(accessKeyId);
            const arn = session === undefined ? `arn:aws:iam::${stand.account}:user/brevet` : `arn:aws:sts::${session.account}:assumed-role/${session.roleName}/${session.sessionName}`;
            const userId = session === undefined ? 'AIDABREVETTEST' : `AROASTANDIN:${session.sessionName}`;
            sendResult(res, ns, action, `${el('Arn', arn)}${el('UserId', userId)}${el('Account', session?.account ?? stand.account)}`);
          } else if (isIam) {
            const rest = [...params].filter(([k]) => k !== 'Action' && k !== 'Version');
            stand.iamCalls.push({ action, params: Object.fromEntries(rest) });
            if (applyFault(res, ns, iamFaults.shift())) return;
            sendResult(res, ns, action, iam(action, params));
          } else {
            throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? ''}`);
          }
        } catch (err) {
          if (err instanceof AwsError) return sendError(res, ns, err);
          sendError(res, ns, new AwsError('InternalFailure', String(err), 500));
          throw err; // a bug in the stand-in: answer, then fail the test run loudly
        }
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const stand: AwsStandIn = {
    url: `http://127.0.0.1:${port}`,
    now: opts.now ?? (() => new Date()),
    assumeRoleCalls: [],
    issued: [],
    failNextAssumeRole: (...faults) => void assumeRoleFaults.push(...faults),
    rolePolicies: new Map(),
    account: '123456789012',
    missingRoles: new Set(),
    managedPolicies: new Map(),
    attachedPolicies: new Map(),
    iamPageSize: 100,
    iamCalls: [],
    failNextIam: (...faults) => void iamFaults.push(...faults),
    expiredSessionTokens: new Set(),
    unknownAccessKeys: new Set(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // also kills keep-alive and hung sockets, or close() would wait forever
      }),
  };
  return stand;
}
