// SPEC §1, §3 rule 7 and §4.1: a profile is saved with its defaults filled in, or refused with
// the field at fault named, for everything a schema cannot see.
import { describe, expect, it } from 'vitest';
import { buildProfileDefinition, upgradeStoredDefinition, type ProfileInput } from './profile.js';

/** The profile of SPEC §7.1, as an admin posts it. */
const SPEC_EXAMPLE: ProfileInput = {
  name: 'prod-admin',
  roleArn: 'arn:aws:iam::123456789012:role/Admin',
  maxDurationSeconds: 3600,
  defaultDurationSeconds: 1800,
  requesters: { groups: ['dev'] },
  approval: { required: 1, approverGroups: ['sre'] },
  conditions: { minJustificationLength: 10 },
  revocation: 'deny-policy',
  notify: { slackChannel: 'C0123' },
};

const NO_CHAINING = { roleChaining: false };

/** The smallest valid input, plus the change under test. */
function input(overrides: Partial<ProfileInput> = {}): ProfileInput {
  return { name: 'p', roleArn: 'arn:aws:iam::123456789012:role/Admin', requesters: { groups: ['dev'] }, approval: { approverGroups: ['sre'] }, ...overrides };
}

function refusedFields(profile: ProfileInput, options = NO_CHAINING): string[] {
  const result = buildProfileDefinition(profile, options);
  if (result.ok) throw new Error('expected a refusal, the profile was accepted');
  return result.errors.map((e) => e.field);
}

describe('defaults', () => {
  it('fills every field of the SPEC §7.1 example', () => {
    expect(buildProfileDefinition(SPEC_EXAMPLE, NO_CHAINING)).toEqual({
      ok: true,
      definition: {
        name: 'prod-admin',
        description: '',
        roleArn: 'arn:aws:iam::123456789012:role/Admin',
        externalId: null,
        region: null,
        maxDurationSeconds: 3600,
        defaultDurationSeconds: 1800,
        requesters: { groups: ['dev'], principals: [], maxOpenPending: 0 },
        approval: {
          required: 1,
          approverGroups: ['sre'],
          approverPrincipals: [],
          pendingTtlSeconds: 86_400,
          remindAfterSeconds: null,
          breakGlass: false,
          requireApproverMfa: false,
          extension: { required: 1, maxTotalSeconds: 3600 },
          escalation: [],
          onCall: null,
          sensitiveActions: ['iam:*', 'organizations:*', 'sts:AssumeRole', 'kms:Decrypt'],
          sensitiveRequired: null,
        },
        conditions: { requireMfa: false, sourceCidrs: [], timeWindows: [], ticketPattern: null, minJustificationLength: 10 },
        sessionPolicy: null,
        sessionTags: {},
        revocation: 'deny-policy',
        notify: { slackChannel: 'C0123' },
      },
    });
  });

  it('is accepted under role chaining too (its maximum is one hour)', () => {
    expect(buildProfileDefinition(SPEC_EXAMPLE, { roleChaining: true }).ok).toBe(true);
  });

  it.each([
    { name: 'no durations: one hour each', given: {}, max: 3600, dflt: 3600 },
    { name: 'a longer maximum: the default stays one hour', given: { maxDurationSeconds: 7200 }, max: 7200, dflt: 3600 },
    { name: 'a shorter maximum: the default follows it', given: { maxDurationSeconds: 900 }, max: 900, dflt: 900 },
  ])('durations, $name', ({ given, max, dflt }) => {
    const result = buildProfileDefinition(input(given), NO_CHAINING);
    expect(result).toMatchObject({ ok: true, definition: { maxDurationSeconds: max, defaultDurationSeconds: dflt } });
  });

  it('revocation defaults to block-new, approvals to one', () => {
    expect(buildProfileDefinition(input(), NO_CHAINING)).toMatchObject({ ok: true, definition: { revocation: 'block-new', approval: { required: 1 } } });
  });

  it.each([
    { name: 'extensions follow the approvals and the maximum', approval: {}, max: 7200, extension: { required: 1, maxTotalSeconds: 7200 } },
    { name: 'auto-approved requests, auto-approved extensions', approval: { required: 0 }, max: 3600, extension: { required: 0, maxTotalSeconds: 3600 } },
    { name: 'one part given, the other filled', approval: { extension: { maxTotalSeconds: 14_400 } }, max: 3600, extension: { required: 1, maxTotalSeconds: 14_400 } },
  ])('extension defaults: $name', ({ approval, max, extension }) => {
    const result = buildProfileDefinition(input({ maxDurationSeconds: max, approval: { approverGroups: ['sre'], ...approval } }), NO_CHAINING);
    expect(result).toMatchObject({ ok: true, definition: { approval: { extension, escalation: [], onCall: null } } });
  });

  it('escalation groups are canonical like approver groups; on-call schedules lose duplicates', () => {
    const result = buildProfileDefinition(
      input({
        approval: {
          approverGroups: ['sre'],
          escalation: [{ afterSeconds: 60, approverGroups: [' leads', 'leads', 'cto '] }],
          onCall: { provider: 'pagerduty', scheduleIds: ['P1', 'P2', 'P1'] },
        },
      }),
      NO_CHAINING,
    );
    expect(result).toMatchObject({
      ok: true,
      definition: { approval: { escalation: [{ afterSeconds: 60, approverGroups: ['cto', 'leads'] }], onCall: { provider: 'pagerduty', scheduleIds: ['P1', 'P2'] } } },
    });
  });

  it('canonicalises identities: emails folded, groups trimmed, duplicates removed', () => {
    const result = buildProfileDefinition(
      input({
        requesters: { groups: [' dev ', 'dev', 'ops'], principals: ['Alice@X.com', ' alice@x.com', 'prn_1'] },
        approval: { approverGroups: ['sre', ' sre'], approverPrincipals: ['BOB@x.com '] },
      }),
      NO_CHAINING,
    );
    expect(result).toMatchObject({
      ok: true,
      definition: {
        requesters: { groups: ['dev', 'ops'], principals: ['alice@x.com', 'prn_1'] },
        approval: { approverGroups: ['sre'], approverPrincipals: ['bob@x.com'] },
      },
    });
  });

  it.each([
    ['no approvals required and no approvers', { approval: { required: 0 } }],
    ['approvers named by principal only', { approval: { approverPrincipals: ['bob@x.com'] } }],
    ['requesters named by principal only', { requesters: { principals: ['alice@x.com'] } }],
    ['the extreme durations', { maxDurationSeconds: 43_200, defaultDurationSeconds: 900 }],
    ['a ticket pattern', { conditions: { ticketPattern: 'INC-\\d+|CHG-\\d+' } }],
    ['IPv4 and IPv6 ranges', { conditions: { sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'] } }],
    ['an overnight window', { conditions: { timeWindows: [{ days: ['fri' as const], start: '22:00', end: '06:00', timeZone: 'Europe/Paris' }] } }],
    ['a reminder shorter than the TTL', { approval: { approverGroups: ['sre'], pendingTtlSeconds: 3600, remindAfterSeconds: 3599 } }],
    ['role ARNs in other partitions and with paths', { roleArn: 'arn:aws-us-gov:iam::123456789012:role/ops/Admin' }],
    ['extensions within 12 h, above the profile maximum', { approval: { approverGroups: ['sre'], extension: { required: 0, maxTotalSeconds: 43_200 } } }],
    ['extensions shorter than the profile maximum', { approval: { approverGroups: ['sre'], extension: { maxTotalSeconds: 900 } } }],
    ['extensions needing approvals on an auto-approved profile with approvers', { approval: { required: 0, approverGroups: ['sre'], extension: { required: 1 } } }],
    ['increasing escalation tiers', { approval: { approverGroups: ['sre'], escalation: [{ afterSeconds: 1, approverGroups: ['leads'] }, { afterSeconds: 900, approverGroups: ['cto'] }] } }],
    ['an on-call policy', { approval: { approverGroups: ['sre'], onCall: { provider: 'pagerduty' as const, scheduleIds: ['P123ABC'] } } }],
  ])('accepts %s', (_name, given: Partial<ProfileInput>) => {
    expect(buildProfileDefinition(input(given), NO_CHAINING).ok).toBe(true);
  });
});

describe('refusals name the field', () => {
  it.each([
    'arn:aws:iam::123:role/x',
    'arn:aws:iam::123456789012:user/alice',
    'arn:aws:sts::123456789012:assumed-role/Admin/alice',
    'arn:aws:iam::123456789012:role/',
    'arn:aws:iam::123456789012:role/with space',
    'arn:aws:iam::1234567890123:role/Admin',
    'arn:aws:iam::123456789012:role/Admin\n',
    ' arn:aws:iam::123456789012:role/Admin',
    'arn:aws:iam::123456789012:policy/Admin',
    'Admin',
    '',
  ])('roleArn %j', (roleArn) => {
    expect(refusedFields(input({ roleArn }))).toEqual(['/body/roleArn']);
  });

  it.each([
    { name: 'maximum 899', given: { maxDurationSeconds: 899, defaultDurationSeconds: 899 }, field: '/body/maxDurationSeconds' },
    { name: 'maximum 43201', given: { maxDurationSeconds: 43_201 }, field: '/body/maxDurationSeconds' },
    { name: 'default above the maximum', given: { maxDurationSeconds: 1800, defaultDurationSeconds: 1801 }, field: '/body/defaultDurationSeconds' },
    { name: 'default 899', given: { defaultDurationSeconds: 899 }, field: '/body/defaultDurationSeconds' },
  ])('$name', ({ given, field }) => {
    expect(refusedFields(input(given))).toContain(field);
  });

  it('a maximum above one hour under role chaining', () => {
    const result = buildProfileDefinition(input({ maxDurationSeconds: 7200 }), { roleChaining: true });
    expect(result).toEqual({ ok: false, errors: [{ field: '/body/maxDurationSeconds', message: expect.stringContaining('role chaining') }] });
  });

  it.each(['(', '[a-', 'INC-\\', '(a)\\1', '(?=INC)INC-\\d+'])('ticketPattern %j is refused: RE2 cannot compile it', (ticketPattern) => {
    const result = buildProfileDefinition(input({ conditions: { ticketPattern } }), NO_CHAINING);
    expect(result).toEqual({
      ok: false,
      errors: [{ field: '/body/conditions/ticketPattern', message: expect.stringMatching(/^is not a valid RE2 regular expression/) }],
    });
  });

  it.each(['(a+)+$', '(x*)*y', 'INC-(\\d|\\d\\d)+'])('ticketPattern %j is accepted: RE2 matches it in linear time', (ticketPattern) => {
    expect(buildProfileDefinition(input({ conditions: { ticketPattern } }), NO_CHAINING).ok).toBe(true);
  });

  it.each([
    ['a prefix of 33 bits', ['10.0.0.0/33'], '/body/conditions/sourceCidrs/0'],
    ['a bare address', ['10.0.0.0/8', '10.0.0.1'], '/body/conditions/sourceCidrs/1'],
    ['an IPv6 prefix of 129 bits', ['2001:db8::/129'], '/body/conditions/sourceCidrs/0'],
    ['a word', ['office'], '/body/conditions/sourceCidrs/0'],
  ])('sourceCidrs with %s', (_name, sourceCidrs, field) => {
    expect(refusedFields(input({ conditions: { sourceCidrs } }))).toEqual([field]);
  });

  const window = { days: ['mon' as const], start: '09:00', end: '17:00', timeZone: 'Europe/Paris' };
  it.each([
    ['an unknown zone', { timeZone: 'Mars/Olympus' }, 'timeZone'],
    ['24:00 as an end', { end: '24:00' }, 'end'],
    ['24:00 as a start', { start: '24:00' }, 'start'],
    ['a minute 60', { start: '12:60' }, 'start'],
    ['a one-digit hour', { start: '9:00' }, 'start'],
    ['start equal to end', { start: '09:00', end: '09:00' }, 'end'],
    ['no days', { days: [] }, 'days'],
    ['an unknown day', { days: ['monkey' as never] }, 'days'],
  ])('a time window with %s', (_name, change, key) => {
    const conditions = { timeWindows: [window, { ...window, ...change }] };
    expect(refusedFields(input({ conditions }))).toEqual([`/body/conditions/timeWindows/1/${key}`]);
  });

  it.each(['brevet:x', 'Brevet:request-id', 'BREVET:requester'])('the reserved session tag key %j', (key) => {
    expect(refusedFields(input({ sessionTags: { team: 'payments', [key]: 'v' } }))).toEqual([`/body/sessionTags/${key}`]);
  });

  it.each([
    ['a key with a forbidden character', { 'cost*center': 'x' }, '/body/sessionTags/cost*center'],
    ['a value too long', { team: 'x'.repeat(257) }, '/body/sessionTags/team'],
  ])('session tags with %s', (_name, sessionTags, field) => {
    expect(refusedFields(input({ sessionTags }))).toEqual([field]);
  });

  it('approvals required but no approvers', () => {
    expect(refusedFields(input({ approval: { required: 2 } }))).toEqual(['/body/approval/approverGroups']);
  });

  it.each([
    ['equal to', 3600],
    ['longer than', 3601],
  ])('a reminder %s the pending TTL', (_name, remindAfterSeconds) => {
    const approval = { approverGroups: ['sre'], pendingTtlSeconds: 3600, remindAfterSeconds };
    expect(refusedFields(input({ approval }))).toEqual(['/body/approval/remindAfterSeconds']);
  });

  it('a pending TTL of 0', () => {
    expect(refusedFields(input({ approval: { approverGroups: ['sre'], pendingTtlSeconds: 0 } }))).toContain('/body/approval/pendingTtlSeconds');
  });

  it.each([
    ['no requesters at all', undefined],
    ['empty lists', { groups: [], principals: [] }],
    ['only blank group names', { groups: ['', '  '] }],
    ['only blank principal entries', { principals: ['  '] }],
  ])('requesters: %s', (_name, requesters) => {
    expect(refusedFields({ ...input(), requesters })).toEqual(['/body/requesters']);
  });

  it.each([-1, 1.5, Number.NaN])('requesters.maxOpenPending %s', (maxOpenPending) => {
    expect(refusedFields(input({ requesters: { groups: ['dev'], maxOpenPending } }))).toEqual(['/body/requesters/maxOpenPending']);
  });

  it('requesters.maxOpenPending defaults to 0 (no cap) and keeps a cap given', () => {
    expect(buildProfileDefinition(input(), NO_CHAINING)).toMatchObject({ definition: { requesters: { maxOpenPending: 0 } } });
    expect(buildProfileDefinition(input({ requesters: { groups: ['dev'], maxOpenPending: 3 } }), NO_CHAINING)).toMatchObject({
      definition: { requesters: { maxOpenPending: 3 } },
    });
  });

  it('a version stored before maxOpenPending existed reads as no cap', () => {
    const built = buildProfileDefinition(input(), NO_CHAINING);
    if (!built.ok) throw new Error('expected a definition');
    const { maxOpenPending: _dropped, ...older } = built.definition.requesters;
    const upgraded = upgradeStoredDefinition({ ...built.definition, requesters: older } as typeof built.definition);
    expect(upgraded.requesters).toEqual({ ...older, maxOpenPending: 0 });
  });

  it('approvers named only by blank entries', () => {
    expect(refusedFields(input({ approval: { approverGroups: [' '], approverPrincipals: [' '] } }))).toEqual(['/body/approval/approverGroups']);
  });

  const sre = { approverGroups: ['sre'] };
  it.each([
    { name: 'an extension maximum of 899 s', approval: { ...sre, extension: { maxTotalSeconds: 899 } }, field: 'extension/maxTotalSeconds' },
    { name: 'an extension maximum past 12 h', approval: { ...sre, extension: { maxTotalSeconds: 43_201 } }, field: 'extension/maxTotalSeconds' },
    { name: 'a fractional extension maximum', approval: { ...sre, extension: { maxTotalSeconds: 1000.5 } }, field: 'extension/maxTotalSeconds' },
    { name: 'negative extension approvals', approval: { ...sre, extension: { required: -1 } }, field: 'extension/required' },
    { name: 'extension approvals with no approvers', approval: { required: 0, extension: { required: 1 } }, field: 'extension/required' },
    { name: 'a tier at 0 s', approval: { ...sre, escalation: [{ afterSeconds: 0, approverGroups: ['leads'] }] }, field: 'escalation/0/afterSeconds' },
    {
      name: 'tiers out of order',
      approval: { ...sre, escalation: [{ afterSeconds: 600, approverGroups: ['leads'] }, { afterSeconds: 300, approverGroups: ['cto'] }] },
      field: 'escalation/1/afterSeconds',
    },
    {
      name: 'two tiers at one moment',
      approval: { ...sre, escalation: [{ afterSeconds: 600, approverGroups: ['leads'] }, { afterSeconds: 600, approverGroups: ['cto'] }] },
      field: 'escalation/1/afterSeconds',
    },
    { name: 'a tier after the pending TTL', approval: { ...sre, pendingTtlSeconds: 3600, escalation: [{ afterSeconds: 3600, approverGroups: ['leads'] }] }, field: 'escalation/0/afterSeconds' },
    { name: 'a tier without groups', approval: { ...sre, escalation: [{ afterSeconds: 60, approverGroups: [] }] }, field: 'escalation/0/approverGroups' },
    { name: 'a tier of blank groups', approval: { ...sre, escalation: [{ afterSeconds: 60, approverGroups: [' '] }] }, field: 'escalation/0/approverGroups' },
    { name: 'on call without schedules', approval: { ...sre, onCall: { provider: 'pagerduty' as const, scheduleIds: [] } }, field: 'onCall/scheduleIds' },
    { name: 'on call with a malformed schedule', approval: { ...sre, onCall: { provider: 'pagerduty' as const, scheduleIds: ['P1', 'p 2'] } }, field: 'onCall/scheduleIds/1' },
    { name: 'an unknown on-call provider', approval: { ...sre, onCall: { provider: 'opsgenie' as never, scheduleIds: ['P1'] } }, field: 'onCall/provider' },
  ])('approval: $name', ({ approval, field }) => {
    expect(refusedFields(input({ approval }))).toEqual([`/body/approval/${field}`]);
  });

  it('an externalId of one character', () => {
    expect(refusedFields(input({ externalId: 'x' }))).toEqual(['/body/externalId']);
  });

  it('a session policy without a Statement', () => {
    expect(refusedFields(input({ sessionPolicy: { Version: '2012-10-17' } }))).toEqual(['/body/sessionPolicy']);
  });

  it('names every field at fault at once', () => {
    const fields = refusedFields({ name: 'p', roleArn: 'nope', maxDurationSeconds: 43_201, conditions: { sourceCidrs: ['10.0.0.0/33'] } });
    expect(fields.sort()).toEqual(['/body/approval/approverGroups', '/body/conditions/sourceCidrs/0', '/body/maxDurationSeconds', '/body/requesters', '/body/roleArn']);
  });
});

describe('session policies AWS would refuse at every issuance are refused at save', () => {
  const allow = { Effect: 'Allow', Action: 's3:GetObject', Resource: '*' };
  it.each([
    ['a Statement that is a number', { Statement: 5 }, '/body/sessionPolicy/Statement'],
    ['an empty Statement list', { Version: '2012-10-17', Statement: [] }, '/body/sessionPolicy/Statement'],
    ['a statement that is a string', { Statement: ['allow all'] }, '/body/sessionPolicy/Statement/0'],
    ['a wrong Effect', { Statement: [{ ...allow, Effect: 'allow' }] }, '/body/sessionPolicy/Statement/0/Effect'],
    ['no Action', { Statement: [{ Effect: 'Allow', Resource: '*' }] }, '/body/sessionPolicy/Statement/0/Action'],
    ['both Action and NotAction', { Statement: [{ ...allow, NotAction: 'iam:*' }] }, '/body/sessionPolicy/Statement/0/Action'],
    ['no Resource', { Statement: { Effect: 'Allow', Action: '*' } }, '/body/sessionPolicy/Statement/Resource'],
    ['an Action that is a number', { Statement: [{ ...allow, Action: 7 }] }, '/body/sessionPolicy/Statement/0/Action'],
    ['an empty Action list', { Statement: [{ ...allow, Action: [] }] }, '/body/sessionPolicy/Statement/0/Action'],
    ['a Principal', { Statement: [{ ...allow, Principal: '*' }] }, '/body/sessionPolicy/Statement/0/Principal'],
    ['an unknown statement element', { Statement: [{ ...allow, Efect: 'Deny' }] }, '/body/sessionPolicy/Statement/0/Efect'],
    ['an unknown document element', { Statement: [allow], Statements: [] }, '/body/sessionPolicy/Statements'],
    ['an unknown Version', { Version: '2024-01-01', Statement: [allow] }, '/body/sessionPolicy/Version'],
    ['a Condition that is a list', { Statement: [{ ...allow, Condition: [] }] }, '/body/sessionPolicy/Statement/0/Condition'],
    ['a Sid used twice', { Statement: [{ ...allow, Sid: 'Read' }, { ...allow, Sid: 'Read' }] }, '/body/sessionPolicy/Statement/1/Sid'],
    ['a Sid that is not letters and digits', { Statement: [{ ...allow, Sid: 'read objects' }] }, '/body/sessionPolicy/Statement/0/Sid'],
    ['the Sid of the statement Brevet adds at a window end', { Statement: [{ ...allow, Sid: 'BrevetWindowEnd' }] }, '/body/sessionPolicy/Statement/0/Sid'],
    ['the Sid of a request scope', { Statement: [{ ...allow, Sid: 'BrevetRequestScope' }] }, '/body/sessionPolicy/Statement/0/Sid'],
    [
      'a policy too large for STS once Brevet adds its window-end statement',
      { Version: '2012-10-17', Statement: [{ ...allow, Resource: `arn:aws:s3:::${'b'.repeat(1820)}` }] },
      '/body/sessionPolicy',
    ],
  ])('%s', (_why, sessionPolicy, field) => {
    expect(refusedFields(input({ sessionPolicy }))).toContain(field);
  });

  it.each([
    { Version: '2012-10-17', Statement: [allow] },
    { Statement: allow },
    { Version: '2012-10-17', Id: 'x', Statement: [{ Sid: 'Read', Effect: 'Deny', NotAction: ['s3:*', 'ec2:Describe*'], NotResource: 'arn:aws:s3:::b/*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
  ])('takes %j', (sessionPolicy) => {
    expect(buildProfileDefinition(input({ sessionPolicy }), NO_CHAINING).ok).toBe(true);
  });
});

describe('session tags', () => {
  it('refuses two keys that differ only in case (AWS compares tag keys without case)', () => {
    expect(refusedFields(input({ sessionTags: { team: 'a', Team: 'b' } }))).toEqual(['/body/sessionTags/Team']);
  });
});
