import pino from 'pino';
import { createAuditLog, type AuditLog } from '../../src/gateway/audit/audit-log.ts';
import { createCheckpointer } from '../../src/gateway/audit/checkpoints.ts';
import { loadAuditSigner } from '../../src/gateway/audit/signing.ts';
import type { Store } from '../../src/store/types.ts';
import { auditSigningKeyVault } from '../../src/vault/audit-signing-key.ts';
import type { SecretBox } from '../../src/vault/secret-box.ts';

const silent = pino({ level: 'silent' });

/** The audit log as the gateway makes it, signing each chain's head every `every` records and at close. */
export function checkpointedLog(store: Store, box: SecretBox, every: number): AuditLog {
  const checkpoints = createCheckpointer({
    anchors: store.auditAnchors,
    signer: () => loadAuditSigner(store.auditAnchors, auditSigningKeyVault(box)),
    settings: { every, intervalMs: 60_000 },
    log: silent,
  });
  return createAuditLog({ store, log: silent, checkpoints });
}
