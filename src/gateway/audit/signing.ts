import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { GatehouseError } from '../../errors.ts';
import { DuplicateError, type AuditAnchorStore, type AuditCheckpoint, type AuditHead, type AuditSigningKeyRecord } from '../../store/types.ts';
import type { AuditTombstone } from '../../store/audit-retention-types.ts';
import type { auditSigningKeyVault } from '../../vault/audit-signing-key.ts';

/** The first (and so far only) signing key of a deployment: a fixed id makes two processes starting at once agree on one. */
const FIRST_KEY_ID = 'ak_1';

/** What a checkpoint's signature covers. A verifier holding only the public key rebuilds it from the checkpoint. */
export function checkpointPayload(cp: Pick<AuditCheckpoint, 'orgId' | 'seq' | 'hash' | 'ts' | 'keyId'>): Buffer {
  return Buffer.from(`gatehouse-audit-checkpoint/v1\n${cp.keyId}\n${cp.orgId}\n${String(cp.seq)}\n${cp.hash}\n${cp.ts}`, 'utf8');
}

/** What a tombstone's signature covers: the removed range, the hash the chain now starts from, when and by whom. */
export function tombstonePayload(t: Omit<AuditTombstone, 'signature'>): Buffer {
  return Buffer.from(
    `gatehouse-audit-tombstone/v1\n${t.keyId}\n${t.orgId}\n${String(t.firstSeq)}\n${String(t.lastSeq)}\n${t.headHash}\n${String(t.count)}\n${t.ts}\n${t.actor}`,
    'utf8',
  );
}

export interface AuditSigner {
  readonly keyId: string;
  /** SPKI PEM: what `gatehouse audit public-key` prints for verifiers. */
  readonly publicKeyPem: string;
  sign(orgId: string, head: AuditHead, ts?: string): AuditCheckpoint;
  signTombstone(t: Omit<AuditTombstone, 'keyId' | 'signature'>): AuditTombstone;
}

/**
 * Loads the deployment's signing key, creating it on first use: an Ed25519 pair whose private half is sealed by the
 * vault before it is stored. The private key lives in this process only as a KeyObject and is never logged.
 */
export async function loadAuditSigner(anchors: AuditAnchorStore, vault: ReturnType<typeof auditSigningKeyVault>): Promise<AuditSigner> {
  let record = await anchors.currentSigningKey();
  if (record === undefined) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const created: AuditSigningKeyRecord = {
      id: FIRST_KEY_ID,
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      sealedPrivateKey: vault.seal(FIRST_KEY_ID, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      createdAt: new Date().toISOString(),
    };
    try {
      await anchors.insertSigningKey(created);
    } catch (err) {
      if (!(err instanceof DuplicateError)) throw err;
    }
    // Whoever won the race, every process signs with the key that was stored.
    record = await anchors.currentSigningKey();
    if (record === undefined) throw new GatehouseError('internal', 'the audit signing key was stored but cannot be read back');
  }
  const { id, publicKey: publicKeyPem } = record;
  const privateKey = createPrivateKey(vault.open(id, record.sealedPrivateKey));
  if (createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() !== publicKeyPem) {
    throw new GatehouseError('internal', 'the stored audit signing key does not match its public key');
  }
  return {
    keyId: id,
    publicKeyPem,
    sign(orgId, head, ts = new Date().toISOString()) {
      const unsigned = { orgId, seq: head.seq, hash: head.hash, ts, keyId: id };
      return { ...unsigned, signature: sign(null, checkpointPayload(unsigned), privateKey).toString('base64url') };
    },
    signTombstone(t) {
      const unsigned = { ...t, keyId: id };
      return { ...unsigned, signature: sign(null, tombstonePayload(unsigned), privateKey).toString('base64url') };
    },
  };
}

/** Reads a public key given as SPKI PEM, or as base64 of the SPKI DER; undefined when it is not an Ed25519 key. */
export function parsePublicKey(text: string): KeyObject | undefined {
  const trimmed = text.trim();
  try {
    const key = trimmed.startsWith('-----BEGIN')
      ? createPublicKey(trimmed)
      : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the tombstone was signed by this key; a malformed signature is simply not valid. */
export function tombstoneSignedBy(t: AuditTombstone, key: KeyObject): boolean {
  try {
    return verify(null, tombstonePayload(t), key, Buffer.from(t.signature, 'base64url'));
  } catch {
    return false;
  }
}

/** Whether the checkpoint was signed by this key; a malformed signature is simply not valid. */
export function checkpointSignedBy(cp: AuditCheckpoint, key: KeyObject): boolean {
  try {
    return verify(null, checkpointPayload(cp), key, Buffer.from(cp.signature, 'base64url'));
  } catch {
    return false;
  }
}
