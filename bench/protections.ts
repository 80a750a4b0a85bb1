/**
 * What "every traffic protection on" means for the benchmark's second gateway (bench/gateway-process.ts
 * --protections): each of the protections the data path has, switched on the way an operator would, with settings
 * that never refuse the benchmark's own calls (limits far above its rate), so what is measured is what each check
 * costs on a call it lets through.
 */
import type { App } from '../src/app.ts';
import type { Actor } from '../src/services/context.ts';

export interface ProtectionTarget {
  readonly orgId: string;
  readonly keyId: string;
  readonly actor: Actor;
}

export async function enableProtections(app: App, target: ProtectionTarget): Promise<void> {
  // Filled in as the protections land: rate limits, schema guardrail, PII/secret scanning, Cedar policy.
  void app;
  void target;
  await Promise.resolve();
}
