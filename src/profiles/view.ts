import type { ProfileVersion } from './repo.js';

export function profileView({ profile, version, definition }: ProfileVersion) {
  return {
    id: profile.id,
    version,
    ...definition,
    name: profile.name,
    createdAt: profile.createdAt.toISOString(),
    updatedAt: profile.updatedAt.toISOString(),
  };
}
