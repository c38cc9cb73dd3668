import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Signs sealed blocks (SPEC §11). The private key lives in this process only, never in the database. */
export interface BlockSigner {
  /** base64 Ed25519 signature over the 32 raw bytes of a block hash (hex). */
  sign(blockHash: string): string;
  publicKey: KeyObject;
  /** SPKI PEM, as GET /v1/audit/public-key serves it. */
  publicKeyPem: string;
  /** The first 16 hex digits of sha256 over the public key's SPKI DER: names the key across rotations. */
  keyId: string;
}

// The fixed DER prefix of an Ed25519 PKCS#8 private key (RFC 8410 §7): what precedes the 32-byte seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * BREVET_AUDIT_SIGNING_KEY: a PKCS#8 PEM Ed25519 private key, or the base64 of its 32-byte seed.
 * Throws with a message naming what is wrong (never the key itself).
 */
export function parseSigningKey(value: string): KeyObject {
  let key: KeyObject;
  if (value.includes('-----BEGIN')) {
    // A PEM pasted into an environment variable often has its line breaks written as \n.
    key = createPrivateKey({ key: value.replace(/\\n/g, '\n'), format: 'pem' });
  } else {
    const seed = Buffer.from(value, 'base64');
    if (seed.length !== 32 || seed.toString('base64').replace(/=+$/, '') !== value.replace(/=+$/, '')) {
      throw new Error('must be a PKCS#8 PEM Ed25519 private key or the base64 of a 32-byte Ed25519 seed');
    }
    key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`must be an Ed25519 key (this is ${key.asymmetricKeyType ?? 'not one'})`);
  return key;
}

export function blockSigner(privateKey: KeyObject): BlockSigner {
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    sign: (blockHash) => sign(null, Buffer.from(blockHash, 'hex'), privateKey).toString('base64'),
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: createHash('sha256').update(der).digest('hex').slice(0, 16),
  };
}

/** Dev mode: the key kept in the data directory (0600), generated on first start. */
export function devSigningKey(dataDir: string): KeyObject {
  const file = path.join(dataDir, 'audit-signing-key.pem');
  try {
    return parseSigningKey(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  // 'wx': two processes starting at once never overwrite each other's key; the loser reads the winner's.
  try {
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return parseSigningKey(readFileSync(file, 'utf8'));
  }
  return privateKey;
}
