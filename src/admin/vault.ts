import * as z from 'zod';
import { orgVaultStatus } from '../services/vault.ts';
import { defineRoute, json } from './route.ts';

const statusView = z.object({
  provider: z.string().describe('The key provider holding the KEKs: local or pkcs11 (its settings are the host’s)'),
  kekVersion: z.number().int().describe('The KEK version new data keys are wrapped under'),
  dataKeys: z.array(
    z.object({
      version: z.number().int(),
      state: z.string().describe('active: new secrets are sealed under it; retired: still opens what it sealed'),
      kekVersion: z.number().int().describe('The KEK version that wraps it'),
      createdAt: z.string(),
      secrets: z.number().int().describe('Connector secrets sealed under this version'),
    }),
  ),
  legacySecrets: z.number().int().describe('Secrets still sealed by the key of before the vault, until resealed'),
});

/** The vault as one organisation sees it, read-only: rotation stays the operator's (CLI `vault rotate-kek|rotate-dek`). */
export const vaultRoutes = [
  defineRoute({
    method: 'GET',
    path: '/vault',
    action: 'vault.read_org',
    operationId: 'getVaultStatus',
    summary: "The organisation's vault status: key provider, KEK version, its data key versions (never key material)",
    tag: 'vault',
    response: { status: 200, description: 'The vault status', schema: statusView },
    handle: async ({ services, actor, orgId }) => json(200, await orgVaultStatus(services, actor, orgId)),
  }),
];
