import type { ServerResponse } from 'node:http';
import { GatehouseError } from '../../errors.ts';
import type { Principal } from '../principal.ts';
import type { RequestId } from '../protocol.ts';
import { Quotas, UNLIMITED } from '../traffic/quotas.ts';
import { isObject, SERVER_INFO_KEY, SUBSCRIPTION_ID_KEY } from './envelope.ts';

export type ChangeKind = 'tools' | 'prompts' | 'resources';

const FILTER_FIELDS: Readonly<Record<ChangeKind, string>> = {
  tools: 'toolsListChanged',
  prompts: 'promptsListChanged',
  resources: 'resourcesListChanged',
};
const KEEP_ALIVE_MS = 25_000;

interface Listener {
  readonly orgId: string;
  readonly keyId: string;
  readonly id: RequestId;
  readonly kinds: ReadonlySet<ChangeKind>;
  readonly res: ServerResponse;
  readonly keepAlive: NodeJS.Timeout;
}

/**
 * The `subscriptions/listen` streams of 2026-07-28 clients on this replica: the stateless era's way to learn that a
 * listing changed. Each stream belongs to one key and receives its organisation's `list_changed` notifications of the
 * kinds it asked for, stamped with its subscription id (the listen request's id). Like a session's GET stream it
 * carries no data beyond "something changed": the client lists again, through the pipeline.
 */
export class ListenerRegistry {
  readonly #listeners = new Set<Listener>();
  readonly #quotas: Quotas;
  readonly #serverInfo: { name: string; version: string };
  #reaper: NodeJS.Timeout | undefined;

  constructor(options: { quotas?: Quotas; serverVersion: string }) {
    this.#quotas = options.quotas ?? new Quotas(UNLIMITED);
    this.#serverInfo = { name: 'gatehouse', version: options.serverVersion };
  }

  get size(): number {
    return this.#listeners.size;
  }

  /**
   * The filter the gateway honours (every list_changed kind; no resource subscriptions, which it does not offer).
   * Throws invalid_params when `notifications` is not an object.
   */
  static honoured(params: Record<string, unknown> | undefined): Set<ChangeKind> {
    const requested = params?.notifications;
    if (!isObject(requested)) throw new GatehouseError('invalid_params', 'params.notifications must be an object');
    const kinds = new Set<ChangeKind>();
    for (const kind of Object.keys(FILTER_FIELDS) as ChangeKind[]) if (requested[FILTER_FIELDS[kind]] === true) kinds.add(kind);
    return kinds;
  }

  /** Refuses a key (or organisation) that already holds as many streams as it may (quota_exceeded, 429). */
  admit(p: Principal): void {
    this.#quotas.check('stream', p.orgId, p.keyId);
  }

  /** Opens the stream on `res`: the acknowledgement first, then the notifications as they come. */
  open(res: ServerResponse, headers: Record<string, string>, p: Principal, id: RequestId, kinds: Set<ChangeKind>): void {
    const release = kinds.size === 0 ? undefined : this.#quotas.acquire('stream', p.orgId, p.keyId);
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    const filter = Object.fromEntries([...kinds].map((k) => [FILTER_FIELDS[k], true]));
    write(res, { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: filter, _meta: { [SUBSCRIPTION_ID_KEY]: id } } });
    if (kinds.size === 0) {
      // Nothing to deliver: the stream ends as on a graceful close.
      this.#end(res, id);
      return;
    }
    // A comment line now and then keeps proxies and load balancers from closing an idle stream.
    const keepAlive = setInterval(() => {
      if (!res.writableEnded && !res.destroyed) res.write(': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    keepAlive.unref();
    const listener: Listener = { orgId: p.orgId, keyId: p.keyId, id, kinds, res, keepAlive };
    this.#listeners.add(listener);
    res.on('close', () => {
      clearInterval(keepAlive);
      this.#listeners.delete(listener);
      release?.();
    });
  }

  notify(orgId: string, kinds: readonly ChangeKind[]): void {
    for (const l of this.#listeners) {
      if (l.orgId !== orgId) continue;
      for (const kind of kinds) {
        if (l.kinds.has(kind)) write(l.res, { jsonrpc: '2.0', method: `notifications/${kind}/list_changed`, params: { _meta: { [SUBSCRIPTION_ID_KEY]: l.id } } });
      }
    }
  }

  /** Cuts, at once, the organisation's streams opened with one of `keyIds` (as the reaper does for a revoked key). */
  dropKeys(orgId: string, keyIds: ReadonlySet<string>): number {
    let dropped = 0;
    for (const l of [...this.#listeners]) {
      if (l.orgId !== orgId || !keyIds.has(l.keyId)) continue;
      this.#drop(l, false);
      dropped++;
    }
    return dropped;
  }

  /** Periodically cuts the streams of keys that were revoked or expired since they opened them. */
  startReaper(intervalMs: number, isKeyActive: (orgId: string, keyId: string) => Promise<boolean>): void {
    this.#reaper = setInterval(() => void this.reap(isKeyActive), intervalMs);
    this.#reaper.unref();
  }

  async reap(isKeyActive: (orgId: string, keyId: string) => Promise<boolean>): Promise<void> {
    const verdicts = new Map<string, Promise<boolean>>();
    for (const l of [...this.#listeners]) {
      let verdict = verdicts.get(l.keyId);
      if (verdict === undefined) {
        verdict = isKeyActive(l.orgId, l.keyId).catch(() => false);
        verdicts.set(l.keyId, verdict);
      }
      if (!(await verdict)) this.#drop(l, false);
    }
  }

  /** Ends every stream gracefully (the empty listen result), as on shutdown. */
  closeAll(): void {
    clearInterval(this.#reaper);
    for (const l of [...this.#listeners]) this.#drop(l, true);
  }

  #drop(l: Listener, graceful: boolean): void {
    clearInterval(l.keepAlive);
    this.#listeners.delete(l);
    if (graceful) this.#end(l.res, l.id);
    else l.res.destroy();
  }

  #end(res: ServerResponse, id: RequestId): void {
    if (res.writableEnded) return;
    write(res, { jsonrpc: '2.0', id, result: { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_KEY]: id, [SERVER_INFO_KEY]: this.#serverInfo } } });
    res.end();
  }
}

function write(res: ServerResponse, message: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}
