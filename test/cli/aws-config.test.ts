import { describe, expect, it } from 'vitest';
import { profileSection, upsertConfigKey } from '../../packages/cli/src/aws-config.js';

const KEY = 'credential_process';
const CMD = '/opt/brevet credential-process --profile p';

describe('upsertConfigKey (configure-aws)', () => {
  it.each([
    ['an empty file', '', `[profile b]\n${KEY} = ${CMD}\n`],
    ['a file without a final newline', '[default]\nregion = x', `[default]\nregion = x\n\n[profile b]\n${KEY} = ${CMD}\n`],
    ['a file ending in a blank line', '[default]\nregion = x\n\n', `[default]\nregion = x\n\n[profile b]\n${KEY} = ${CMD}\n`],
    ['a file ending in a newline', '[default]\nregion = x\n', `[default]\nregion = x\n\n[profile b]\n${KEY} = ${CMD}\n`],
  ])('appends a new section to %s', (_name, before, after) => {
    expect(upsertConfigKey(before, 'profile b', KEY, CMD)).toBe(after);
    expect(upsertConfigKey(after, 'profile b', KEY, CMD)).toBe(after);
  });

  it('adds the key after the last setting of an existing section, before the blank lines and comments that follow', () => {
    const before = '[profile b]\nregion = x\n\n# next\n[profile c]\nregion = y\n';
    expect(upsertConfigKey(before, 'profile b', KEY, CMD)).toBe(`[profile b]\nregion = x\n${KEY} = ${CMD}\n\n# next\n[profile c]\nregion = y\n`);
  });

  it('finds headers written with extra spaces or a trailing comment, and keeps CRLF line endings', () => {
    const before = '[default]\r\nregion = x\r\n[ profile  b ] ; mine\r\ncredential_process = old\r\nregion = y\r\n';
    expect(upsertConfigKey(before, 'profile b', KEY, CMD)).toBe(`[default]\r\nregion = x\r\n[ profile  b ] ; mine\r\n${KEY} = ${CMD}\r\nregion = y\r\n`);
  });

  it('never takes a nested sub-setting or another section for its key', () => {
    const before = '[profile a]\ns3 =\n  credential_process = nested\n[profile b]\n';
    expect(upsertConfigKey(before, 'profile a', KEY, CMD)).toBe(`[profile a]\ns3 =\n  credential_process = nested\n${KEY} = ${CMD}\n[profile b]\n`);
  });

  it('names sections as the AWS CLI does', () => {
    expect(profileSection('default')).toBe('default');
    expect(profileSection('brevet-demo')).toBe('profile brevet-demo');
  });
});
