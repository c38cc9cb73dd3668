import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'prn' | 'key' | 'prf' | 'req' | 'rev' | 'iss' | 'dlv';

/**
 * Opaque, prefixed ids (`req_…`): 20 characters of Crockford base32 carry 100 random bits.
 * The prefix says what an id names when it shows up in a log or a ticket.
 * Every character is in the RoleSessionName alphabet, so `brevet-<requestId>` is a valid session name.
 */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(20);
  let body = '';
  for (const byte of bytes) body += ALPHABET[byte & 31];
  return `${prefix}_${body}`;
}
