/**
 * A small stand-in for a browser, for sign-in tests: fetch with a cookie jar per origin, redirects followed by hand
 * (so each hop can be inspected or tampered with), and the CSRF header added when asked.
 */
export class Browser {
  readonly #jar = new Map<string, Map<string, string>>();
  readonly userAgent: string;

  constructor(userAgent = 'gatehouse-e2e-browser/1.0') {
    this.userAgent = userAgent;
  }

  cookie(origin: string, name: string): string | undefined {
    return this.#jar.get(origin)?.get(name);
  }

  setCookie(origin: string, name: string, value: string | undefined): void {
    const jar = this.#jar.get(origin) ?? new Map<string, string>();
    if (value === undefined) jar.delete(name);
    else jar.set(name, value);
    this.#jar.set(origin, jar);
  }

  /** Forgets every cookie of an origin (a person signing in afresh at their IdP). */
  forget(origin: string): void {
    this.#jar.delete(origin);
  }

  async fetch(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; csrf?: string } = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...init.headers };
    const jar = this.#jar.get(origin);
    if (jar !== undefined && jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.body !== undefined) headers['content-type'] ??= 'application/json';
    if (init.csrf !== undefined) headers['x-csrf-token'] = init.csrf;
    const res = await fetch(url, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      redirect: 'manual',
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      this.setCookie(origin, name, /max-age=0(;|$)/i.test(line) || value === '' ? undefined : value);
    }
    return res;
  }

  /** Follows redirects from `url` until an answer that is not one, or until `stop` says the next hop is for the test. */
  async follow(url: string, stop: (next: URL) => boolean = () => false, max = 15): Promise<{ res: Response; url: URL }> {
    let current = new URL(url);
    for (let i = 0; i < max; i++) {
      const res = await this.fetch(current.href);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || location === null) return { res, url: current };
      await res.arrayBuffer();
      const next = new URL(location, current);
      if (stop(next)) return { res, url: next };
      current = next;
    }
    throw new Error(`too many redirects from ${url}`);
  }
}
