import { createSecureContext, type SecureVersion } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:https';
import type { Config } from '../../config/schema.ts';
import { GatehouseError } from '../../errors.ts';

/** TLS termination in the gateway: the certificate and key as last read, and how to read them again. */
export interface TlsSettings {
  readonly minVersion: SecureVersion;
  /** The certificate and key as read at start (or at the last reload). */
  secureOptions(): { readonly cert: Buffer; readonly key: Buffer };
  /**
   * Reads both files again and swaps them into the running server: new connections get the new certificate, open
   * ones keep theirs. A pair that cannot be read or does not match is refused and the old one stays in service.
   */
  reload(server: TlsServer): void;
}

/** Undefined without GATEHOUSE_TLS_CERT / GATEHOUSE_TLS_KEY; throws, naming the setting, on files that do not load. */
export function loadTls(config: Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsMinVersion'>): TlsSettings | undefined {
  const { tlsCert, tlsKey } = config;
  if (tlsCert === undefined || tlsKey === undefined) return undefined;
  const minVersion = config.tlsMinVersion;
  let current = readPair(tlsCert, tlsKey, minVersion);
  return {
    minVersion,
    secureOptions: () => current,
    reload(server) {
      const next = readPair(tlsCert, tlsKey, minVersion);
      server.setSecureContext({ ...next, minVersion });
      current = next;
    },
  };
}

function readPair(certPath: string, keyPath: string, minVersion: SecureVersion): { cert: Buffer; key: Buffer } {
  const cert = readPem(certPath, 'GATEHOUSE_TLS_CERT');
  const key = readPem(keyPath, 'GATEHOUSE_TLS_KEY');
  try {
    // Fails on a key that is not the certificate's, or on PEM that is not a certificate or key.
    createSecureContext({ cert, key, minVersion });
  } catch (err) {
    throw new GatehouseError('config_invalid', 'GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY do not form a certificate and its private key', { cause: err });
  }
  return { cert, key };
}

function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GatehouseError('config_invalid', `${setting}: cannot read ${path}`, { cause: err });
  }
}
