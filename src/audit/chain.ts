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
  // As JSON.stringify (and so jsonb) sees it: toJSON first (Dates become ISO strings).
  const json = value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function'
    ? (value as { toJSON: () => unknown }).toJSON()
    : value;
  if (json === null || typeof json !== 'object') return JSON.stringify(json) ?? 'null';
  if (Array.isArray(json)) return `[${json.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(json as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** hash = sha256(prevHash ‖ canonical JSON of the event), hex. */
export function chainHash(prevHash: string, event: ChainedFields): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(event)).digest('hex');
}
