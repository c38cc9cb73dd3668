// Calls through the public API that many test files make the same way.
import { expect } from 'vitest';
import type { TestApp } from './app.js';

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/Admin';

let names = 0;

/** A profile (or other) name no other test of the run uses. */
export function uniqueName(prefix = 'p'): string {
  names += 1;
  return `${prefix}-${names}-${Date.now().toString(36)}`;
}

export interface CreatedProfile {
  id: string;
  name: string;
  version: number;
  [field: string]: unknown;
}

/** A profile through the admin API: requesters `dev`, one approval from `sre`, unless overridden. */
export async function createProfile(t: TestApp, overrides: Record<string, unknown> = {}): Promise<CreatedProfile> {
  const response = await t
    .http()
    .post('/v1/profiles')
    .set(auth(t.adminKey))
    .send({
      name: uniqueName(),
      roleArn: ROLE_ARN,
      maxDurationSeconds: 3600,
      defaultDurationSeconds: 1800,
      requesters: { groups: ['dev'] },
      approval: { required: 1, approverGroups: ['sre'] },
      ...overrides,
    });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body as CreatedProfile;
}
