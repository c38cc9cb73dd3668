import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it, vi } from 'vitest';

const require = createRequire(import.meta.url);
/** The module whose `emitWarningIfUnsupportedVersion(process.version)` every SDK client calls when it is built. */
const sdkCore = require('@aws-sdk/core/client') as { state: { warningEmitted: boolean } };
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
const realVersion = process.version;

/** Builds an STS client as Brevet does, on a pretended Node version, and returns the warnings it emitted. */
function warningsOnNode(version: string): string[] {
  Object.defineProperty(process, 'version', { value: version, configurable: true });
  sdkCore.state.warningEmitted = false;
  const emit = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    new STSClient({ region: 'us-east-1' }).destroy();
    return emit.mock.calls.map(([warning]) => String(warning));
  } finally {
    emit.mockRestore();
    Object.defineProperty(process, 'version', { value: realVersion, configurable: true });
  }
}

afterEach(() => {
  sdkCore.state.warningEmitted = false;
});

describe('package.json engines', () => {
  it('states one lower bound, at or above the Node major the AWS SDK requires from 2027', () => {
    expect(pkg.engines.node).toMatch(/^>=\d+\.\d+\.\d+$/);
  });

  it('the lowest supported version gets no AWS SDK Node-version warning; an older one does', () => {
    const lowest = `v${pkg.engines.node.slice(2)}`;
    expect(warningsOnNode(lowest)).toEqual([]);
    // The same probe sees the warning where the SDK prints it, so the empty list above means something.
    expect(warningsOnNode('v20.20.2').join('\n')).toMatch(/NodeVersionSupportWarning/);
  });
});
