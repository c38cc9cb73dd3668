import { hash, randomBytes } from 'node:crypto';

/** `brv_` + 43 base64url characters (256 random bits). The prefix lets secret scanners find leaked keys. */
export function generateApiKey(): string {
  return `brv_${randomBytes(32).toString('base64url')}`;
}

/** Keys carry 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}
