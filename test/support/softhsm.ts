/** A SoftHSM2 token of the test's own: its own SOFTHSM2_CONF and token directory under a temporary directory. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsm {
  readonly conf: string;
  readonly library: string;
  readonly tokenLabel: string;
  readonly pin: string;
  /** The GATEHOUSE_* settings of a gateway using this token. */
  readonly env: Record<string, string>;
  cleanup(): void;
}

/**
 * Initialises a fresh token and points SOFTHSM2_CONF of this process at it. SoftHSM reads its configuration when
 * the library is initialised, once per process: call this before any provider is used (node --test runs each file
 * in a process of its own). Extra tokens (`labels`) live in the same token directory.
 */
export function createSoftHsm(labels: readonly string[] = ['gatehouse-test']): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-softhsm-'));
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pin = '246813579';
  for (const label of labels) {
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '97531864'], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore', timeout: 30_000 });
  }
  process.env.SOFTHSM2_CONF = conf;
  const tokenLabel = labels[0] ?? 'gatehouse-test';
  return {
    conf,
    library: SOFTHSM_LIBRARY,
    tokenLabel,
    pin,
    env: { SOFTHSM2_CONF: conf, GATEHOUSE_VAULT_PROVIDER: 'pkcs11', GATEHOUSE_PKCS11_LIBRARY: SOFTHSM_LIBRARY, GATEHOUSE_PKCS11_TOKEN_LABEL: tokenLabel, GATEHOUSE_PKCS11_PIN: pin },
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
