import { createHash } from 'node:crypto';

/** The fields an audit hash covers, in their public (API) form. */
export interface ChainedFields {
  id: string;
  occurredAt: string;
  actor: { id: string; kind: string };
  action: string;
  requestId: string | null;
  profileId: string | null;
  sourceIp: string | null;
  details: unknown;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth and no whitespace, so the same event always
 * hashes the same way whatever order its fields were built in or read back from jsonb.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** hash = sha256(prevHash ‖ canonical JSON of the event), hex. */
export function chainHash(prevHash: string, event: ChainedFields): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(event)).digest('hex');
}
