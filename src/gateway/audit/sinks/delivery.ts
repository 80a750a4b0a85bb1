import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditRecord, Store } from '../../../store/types.ts';
import { SYSTEM_CHAIN } from '../audit-log.ts';
import type { Sink, SinkName } from './sink.ts';

export interface DeliverySettings {
  /** Records per delivery at most (one chain's, consecutive). */
  readonly batchSize: number;
  /** How often the store is looked at for records other processes wrote (the CLI, other replicas). */
  readonly pollMs: number;
  /** The longest wait between attempts at a sink that is failing. */
  readonly retryMaxMs: number;
}

export interface SinkStatus {
  readonly sink: SinkName;
  readonly target: string;
  /** delivering: holds the lease and sends; standby: another process on the store delivers; retrying: failing. */
  readonly state: 'starting' | 'delivering' | 'retrying' | 'standby' | 'closed';
  /** Records committed to the store that this sink has not accepted yet, over every chain (as of the last look). */
  readonly lag: number;
  /** Records accepted since this process started. */
  readonly delivered: number;
  readonly failures: number;
  readonly lastError: string | undefined;
  readonly lastDeliveryMs: number | undefined;
}

/** Wait before gathering newly appended records, so a burst goes out as one batch rather than one delivery each. */
const GATHER_MS = 20;
const FIRST_RETRY_MS = 250;
const LEASE_MS = 30_000;
/** How often the list of chains and their heads is read again (organisations created elsewhere; the lag figure). */
const CHAINS_REFRESH_MS = 10_000;
/** How long closing waits for a delivery in flight. */
const STOP_WAIT_MS = 2000;

type Deps = { store: Pick<Store, 'siem' | 'listAudit' | 'listAuditChains' | 'listOrganisations'>; sinks: readonly Sink[]; log: Logger; settings: DeliverySettings };

/**
 * Streams every audit chain to every configured sink, off the request path: records are read back from the store by
 * each sink's cursor, in batches, after they were committed; an append only wakes the loop. A sink that fails is
 * retried with exponential backoff (jittered, up to `retryMaxMs`) while requests and their audit records go on; its
 * cursor stays where the last accepted batch left it, in the store, so a restart continues from there. Delivery is
 * at least once: a batch whose acceptance was not seen is sent again with the same seq and hash.
 */
export class SiemDelivery {
  readonly #deps: Deps;
  readonly #holder = randomUUID();
  readonly #workers: SinkWorker[];
  /** Newest seq seen per chain: from appends in this process, reads, and the periodic head refresh. */
  readonly #heads = new Map<string, number>();
  #chainsReadAt = 0;
  #closed = false;

  constructor(deps: Deps) {
    this.#deps = deps;
    this.#workers = deps.sinks.map((sink) => new SinkWorker(sink, this));
  }

  get deps(): Deps {
    return this.#deps;
  }

  get holder(): string {
    return this.#holder;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(): void {
    for (const w of this.#workers) w.run();
  }

  /** Called for each record this process appends; cheap (a map write and a timer at most once per gather window). */
  appended(record: AuditRecord): void {
    if ((this.#heads.get(record.orgId) ?? 0) < record.seq) this.#heads.set(record.orgId, record.seq);
    for (const w of this.#workers) w.wake();
  }

  /** Each sink's state, synchronously (for metrics: `lag` is the figure to watch). */
  status(): SinkStatus[] {
    return this.#workers.map((w) => w.status());
  }

  /** The chains to deliver: every chain with records, re-read now and then (a new organisation's chain included). */
  async chains(now: number): Promise<string[]> {
    if (now - this.#chainsReadAt >= CHAINS_REFRESH_MS || this.#chainsReadAt === 0) {
      const first = this.#chainsReadAt === 0;
      this.#chainsReadAt = now;
      // Once in full (every chain that has records); afterwards the organisations, a small table, and the system chain.
      const ids = first ? await this.#deps.store.listAuditChains() : [SYSTEM_CHAIN, ...(await this.#deps.store.listOrganisations()).map((o) => o.id)];
      for (const id of ids) {
        const head = await this.#deps.store.siem.auditHeadSeq(id);
        if (head > 0 && (this.#heads.get(id) ?? 0) < head) this.#heads.set(id, head);
      }
    }
    return [...this.#heads.keys()].sort();
  }

  heads(): ReadonlyMap<string, number> {
    return this.#heads;
  }

  head(chain: string): number {
    return this.#heads.get(chain) ?? 0;
  }

  sawHead(chain: string, seq: number): void {
    if ((this.#heads.get(chain) ?? 0) < seq) this.#heads.set(chain, seq);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#workers.map((w) => w.stop()));
  }
}

class SinkWorker {
  readonly #sink: Sink;
  readonly #owner: SiemDelivery;
  readonly #cursors = new Map<string, number>();
  #state: SinkStatus['state'] = 'starting';
  #delivered = 0;
  #failures = 0;
  #lastError: string | undefined;
  #lastDeliveryMs: number | undefined;
  #leaseRenewedAt = 0;
  #cursorsLoaded = false;
  /** Set by an append in this process since the current round began. */
  #appended = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(sink: Sink, owner: SiemDelivery) {
    this.#sink = sink;
    this.#owner = owner;
  }

  status(): SinkStatus {
    let lag = 0;
    for (const [chain, head] of this.#owner.heads()) lag += Math.max(0, head - (this.#cursors.get(chain) ?? 0));
    return {
      sink: this.#sink.name,
      target: this.#sink.target,
      state: this.#state,
      lag: this.#cursorsLoaded ? lag : Number.NaN,
      delivered: this.#delivered,
      failures: this.#failures,
      lastError: this.#lastError,
      lastDeliveryMs: this.#lastDeliveryMs,
    };
  }

  wake(): void {
    this.#appended = true;
    const w = this.#wake;
    if (w !== undefined) {
      this.#wake = undefined;
      setTimeout(w, GATHER_MS);
    }
  }

  run(): void {
    this.#running = this.#loop().catch((err: unknown) => {
      // The loop catches its own failures; reaching here is a bug, and the sink stops rather than spin.
      this.#state = 'closed';
      this.#owner.deps.log.error({ err, sink: this.#sink.name }, 'SIEM delivery stopped');
    });
  }

  /** Ends the loop; a delivery still in flight after a moment is abandoned (its batch goes again next start). */
  async stop(): Promise<void> {
    this.#wake?.();
    await Promise.race([this.#running, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    await this.#owner.deps.store.siem.releaseSiemLease(this.#sink.name, this.#owner.holder).catch(() => undefined);
    await this.#sink.close().catch(() => undefined);
    this.#state = 'closed';
  }

  async #loop(): Promise<void> {
    const { store, log, settings } = this.#owner.deps;
    let retryMs = FIRST_RETRY_MS;
    // The first round, and every round the poll timer starts, reads every chain: records other processes appended
    // are found only so. A round an append here started reads only the chains known to be behind.
    let polled = true;
    while (!this.#owner.closed) {
      let progressed = false;
      try {
        if (!(await this.#lease())) {
          this.#state = 'standby';
          // Whoever holds the lease moves the cursors meanwhile: read them again when this process takes over.
          this.#cursorsLoaded = false;
          polled = await this.#sleep(settings.pollMs);
          continue;
        }
        if (!this.#cursorsLoaded) {
          for (const c of await store.siem.listSiemCursors(this.#sink.name)) this.#cursors.set(c.chain, c.seq);
          this.#cursorsLoaded = true;
        }
        this.#appended = false;
        for (const chain of await this.#owner.chains(Date.now())) {
          if (this.#stopping()) break;
          const after = this.#cursors.get(chain) ?? 0;
          if (!polled && after >= this.#owner.head(chain)) continue;
          const batch = await store.listAudit(chain, after, settings.batchSize);
          const last = batch.at(-1);
          if (last === undefined) continue;
          this.#owner.sawHead(chain, last.seq);
          await this.#sink.deliver(chain, batch);
          await store.siem.advanceSiemCursor(this.#sink.name, chain, last.seq, Date.now());
          this.#cursors.set(chain, last.seq);
          this.#delivered += batch.length;
          this.#lastDeliveryMs = Date.now();
          progressed = true;
        }
        if (this.#state === 'retrying') log.info({ sink: this.#sink.name, target: this.#sink.target }, 'SIEM sink accepts records again; catching up');
        this.#state = 'delivering';
        this.#lastError = undefined;
        retryMs = FIRST_RETRY_MS;
        // More to send (a full batch, or appends during the round): straight on, with every chain read again after
        // progress so a chain's remainder beyond one batch is not left to the poll.
        if (progressed) polled = true;
        else if (this.#appendedSinceRoundBegan()) {
          await this.#pause(GATHER_MS);
          polled = false;
        } else polled = await this.#sleep(settings.pollMs);
      } catch (err) {
        this.#failures++;
        const message = err instanceof Error ? err.message : String(err);
        if (this.#state !== 'retrying' || this.#lastError !== message) {
          log.warn({ sink: this.#sink.name, target: this.#sink.target, err: message }, 'SIEM delivery failed; retrying');
        }
        this.#state = 'retrying';
        this.#lastError = message;
        await this.#pause(retryMs * (0.5 + Math.random() / 2));
        retryMs = Math.min(retryMs * 2, settings.retryMaxMs);
        polled = true;
      }
    }
  }

  // Methods, not fields: read after an await, which the type checker's narrowing does not see.
  #stopping(): boolean {
    return this.#owner.closed;
  }

  #appendedSinceRoundBegan(): boolean {
    return this.#appended;
  }

  async #lease(): Promise<boolean> {
    const now = Date.now();
    if ((this.#state === 'delivering' || this.#state === 'retrying') && now - this.#leaseRenewedAt < LEASE_MS / 3) return true;
    const ok = await this.#owner.deps.store.siem.claimSiemLease(this.#sink.name, this.#owner.holder, now, now + LEASE_MS);
    if (ok) this.#leaseRenewedAt = now;
    return ok;
  }

  /** Sleeps for `ms` or until an append here wakes it; true when the time ran out (a poll round). */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve(true);
      }, ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        resolve(false);
      };
      if (this.#owner.closed) this.#wake();
    });
  }

  /** Waits `ms` whatever is appended (a backoff, a gather); only closing cuts it short. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.#wake = () => {
        if (!this.#owner.closed) return;
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
