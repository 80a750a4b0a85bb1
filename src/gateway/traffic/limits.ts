import type { GatehouseError } from '../../errors.ts';
import { parseLimit, type LimitSpec, type Tier } from '../../limit-spec.ts';
import type { TakeResult } from './gcra.ts';
import type { LimiterStore } from './limiter-store.ts';
import { rateLimited, type LimitName } from './rate-limited.ts';

export interface GatewayLimitSettings {
  /** `off` or a limit (see limit-spec.ts), per client address, for every request. */
  readonly rateLimitAddress: string;
  /** Per client address: authentication failures, and every sign-in request. */
  readonly rateLimitAuth: string;
  /** Per key or token without a tier. */
  readonly rateLimitKey: string;
}

export interface TrafficLimits {
  /** Before authentication: the address's own limit, then whether it has failures left. Undefined: go on. */
  beforeAuthentication(ip: string | null, now: number): Promise<GatehouseError | undefined>;
  /** Charges an authentication failure to the address (whatever it answers: the failure is answered anyway). */
  authenticationFailed(ip: string | null, now: number): Promise<void>;
  /** A request to /auth: the address's own limit and the strict sign-in limit, both charged. */
  signIn(ip: string | null, now: number): Promise<GatehouseError | undefined>;
  /** The key's tier (or the gateway's default for keys) for `subject`; undefined when allowed. */
  key(tier: Tier | undefined, subject: string, now: number): Promise<GatehouseError | undefined>;
  /** One of the organisation's own limits (its total, a tool's). */
  take(name: LimitName, spec: LimitSpec, subject: string, now: number): Promise<GatehouseError | undefined>;
}

function setting(v: string): LimitSpec | undefined {
  return v === 'off' ? undefined : parseLimit(v);
}

/**
 * The gateway's limits over one LimiterStore. Each check is one `take` on one key (`<limit>:<subject>`), so a shared
 * store gives every replica the same answer. A store that fails rejects: the caller refuses (fail closed).
 */
export function createTrafficLimits(store: LimiterStore, settings: GatewayLimitSettings): TrafficLimits {
  const address = setting(settings.rateLimitAddress);
  const auth = setting(settings.rateLimitAuth);
  const keyDefault = setting(settings.rateLimitKey);

  async function take(name: LimitName, spec: LimitSpec, subject: string, now: number, commit = true): Promise<GatehouseError | undefined> {
    const r: TakeResult = await store.take(`${name}:${subject}`, spec, 1, now, commit);
    return r.allowed ? undefined : rateLimited(name, spec, r);
  }

  return {
    async beforeAuthentication(ip, now) {
      const who = ip ?? 'unknown';
      if (address !== undefined) {
        const refused = await take('address', address, who, now);
        if (refused !== undefined) return refused;
      }
      return auth === undefined ? undefined : take('auth', auth, who, now, false);
    },
    async authenticationFailed(ip, now) {
      if (auth !== undefined) await take('auth', auth, ip ?? 'unknown', now);
    },
    async signIn(ip, now) {
      const who = ip ?? 'unknown';
      if (address !== undefined) {
        const refused = await take('address', address, who, now);
        if (refused !== undefined) return refused;
      }
      return auth === undefined ? undefined : take('auth', auth, who, now);
    },
    key(tier, subject, now) {
      const spec = tier ?? keyDefault;
      if (spec === undefined || spec === 'unlimited') return Promise.resolve(undefined);
      return take('key', spec, subject, now);
    },
    take,
  };
}
