/** Rate limits as the config, the API and the CLI write them; the gateway's limiters run them (gateway/traffic/). */

/** A limit: `rate` units per `periodMs`, with at most `burst` units at once (burst >= 1). */
export interface LimitSpec {
  readonly rate: number;
  readonly periodMs: number;
  readonly burst: number;
}

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };
const SPEC = /^(\d{1,9})\/(s|m|h)(?:,burst=(\d{1,9}))?$/;

/**
 * `<rate>/<s|m|h>[,burst=<n>]`, e.g. `300/m`, `10/s,burst=30`. Without a burst, one period's worth is allowed at
 * once (`300/m` lets 300 through in a row, then one every 200 ms). Undefined when the text is not a limit.
 */
export function parseLimit(text: string): LimitSpec | undefined {
  const m = SPEC.exec(text.trim());
  if (m === null) return undefined;
  const rate = Number(m[1]);
  const periodMs = UNITS[m[2] ?? ''];
  const burst = m[3] === undefined ? rate : Number(m[3]);
  if (periodMs === undefined || rate < 1 || burst < 1) return undefined;
  return Object.freeze({ rate, periodMs, burst });
}

export function formatLimit(spec: LimitSpec): string {
  const unit = Object.entries(UNITS).find(([, ms]) => ms === spec.periodMs)?.[0] ?? 's';
  return spec.burst === spec.rate ? `${String(spec.rate)}/${unit}` : `${String(spec.rate)}/${unit},burst=${String(spec.burst)}`;
}

/** A key's tier: `unlimited`, a bare number of requests per second (`5`, `100`), or a limit as above. */
export type Tier = LimitSpec | 'unlimited';

export function parseTier(text: string): Tier | undefined {
  const t = text.trim();
  if (t === 'unlimited') return 'unlimited';
  if (/^\d{1,9}$/.test(t)) return parseLimit(`${t}/s`);
  return parseLimit(t);
}
