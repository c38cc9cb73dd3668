import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix = 'prn' | 'key' | 'prf' | 'req' | 'rev' | 'iss' | 'dlv';

/**
 * Opaque, prefixed ids (`req_…`): 20 characters of Crockford base32 carry 100 random bits.
 * The prefix says what an id names when it shows up in a log or a ticket.
 * Every character is in the RoleSessionName alphabet, so `brevet-<requestId>` is a valid session name.
 */
export function newId(prefix: IdPrefix): string {
  if (offset + ID_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  let body = '';
  for (let end = offset + ID_BYTES; offset < end; offset++) body += ALPHABET[pool[offset]! & 31];
  return `${prefix}_${body}`;
}

// Random bytes are drawn 4 KiB at a time (each id takes 20 never used before): one call into the
// CSPRNG per ~200 ids instead of one per id, on the create path.
const ID_BYTES = 20;
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;
