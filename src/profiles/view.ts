import type { ProfileVersion } from './repo.js';

export function profileView({ profile, version, definition, policyFindings }: ProfileVersion) {
  return {
    id: profile.id,
    version,
    ...definition,
    policyFindings,
    name: profile.name,
    createdAt: profile.createdAt.toISOString(),
    updatedAt: profile.updatedAt.toISOString(),
  };
}
