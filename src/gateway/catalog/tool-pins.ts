import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { PinSettings, PinStatus, ToolPinRecord } from '../../store/pinning-types.ts';
import type { Store } from '../../store/types.ts';
import type { ConnectorFacts } from '../access/decide.ts';
import { scanDefinition } from './definition-scan.ts';
import { exposedName, SEPARATOR } from './names.ts';
import { fingerprint, pinnedDefinition, type PinnedDefinition } from './pinning.ts';

/** What the data path asks of the pins: read-only facts for `decide`, and why a tool that is not served is missing. */
export interface PinLookup extends ConnectorFacts {
  /** The status of a tool withheld from the endpoint (by the name a client uses), for a clear refusal. */
  quarantined(orgId: string, exposed: string): { readonly connector: string; readonly tool: string; readonly status: PinStatus } | undefined;
}

export interface ToolPinsDeps {
  readonly store: Pick<Store, 'pinning'>;
  readonly log: Logger;
  /** Told when what an organisation serves changed (a pin was written here), so its catalog is rebuilt. */
  readonly onChange: (orgId: string) => void;
}

interface Withheld {
  readonly connector: string;
  readonly tool: string;
  readonly status: PinStatus;
}

const key = (...parts: string[]): string => parts.join('\u0000');

/**
 * Tool pinning against rug pulls. Each tool a connector lists is fingerprinted; only a tool whose current definition
 * is the approved one is served. A new tool, or a changed definition, is withheld (not listed, calls refused) until
 * an admin approves it; a rejected one stays withheld. While a change is pending the tool is hidden rather than
 * served under its old definition: the upstream already runs the new one, so the old text would describe behaviour
 * that is no longer there. The tools of a connector's first sync are approved without review when auto-approval is
 * on (the default) and the scan found nothing in them; a definition with findings always waits for a person.
 *
 * Everything is held in memory and reloaded when the store's pinning revision moves (checked with the connector
 * poll), so the data path never reads the store. A pin is applied in memory only once it is written: a store that
 * cannot be written leaves the tool withheld (fail closed).
 */
export class ToolPins implements PinLookup {
  readonly #deps: ToolPinsDeps;
  #revision = -1;
  #pins = new Map<string, ToolPinRecord>();
  /** `org, connectorId` of connectors that have any pin: a connector without one is on its first sync. */
  #pinned = new Set<string>();
  #settings = new Map<string, PinSettings>();
  /** `org, connector name` -> connector id, learned as connectors are served. */
  readonly #ids = new Map<string, string>();
  /** `org, connector name` -> the tools withheld from it, by exposed name. */
  readonly #withheld = new Map<string, Map<string, Withheld>>();
  readonly #writing = new Set<string>();
  /** Pins decided here whose write has not finished: a reload from the store must not forget them. */
  readonly #unsettled = new Map<string, ToolPinRecord>();
  readonly #inflight = new Set<Promise<void>>();
  readonly #definitions = new WeakMap<Tool, { definition: PinnedDefinition; fingerprint: string }>();

  constructor(deps: ToolPinsDeps) {
    this.#deps = deps;
  }

  /** Reloads pins and settings when the revision moved; true when it did. */
  async refresh(): Promise<boolean> {
    const revision = await this.#deps.store.pinning.pinningRevision();
    if (revision === this.#revision) return false;
    // Those being written now: one that lands while the store is read may be missing from what the reads return.
    const writing = [...this.#unsettled.values()];
    const [pins, settings] = await Promise.all([this.#deps.store.pinning.listAllToolPins(), this.#deps.store.pinning.listAllPinSettings()]);
    this.#pins = new Map(pins.map((p) => [key(p.orgId, p.connectorId, p.tool), p]));
    this.#pinned = new Set(pins.map((p) => key(p.orgId, p.connectorId)));
    this.#settings = new Map(settings.map((s) => [key(s.orgId, s.connectorId), s]));
    // A first-sync approval applies before its write lands; a reload that read the store in between would drop it and
    // the next listing would quarantine the tool as new.
    for (const pin of new Set([...writing, ...this.#unsettled.values()])) {
      const stored = this.#pins.get(key(pin.orgId, pin.connectorId, pin.tool));
      if (stored === undefined || stored.updatedAt < pin.updatedAt) this.#apply(pin);
    }
    this.#revision = revision;
    return true;
  }

  /** The tools of a connector's listing that may be served; the rest are withheld, and new or changed ones recorded. */
  serve(orgId: string, connector: { readonly id: string; readonly name: string }, tools: readonly Tool[]): Tool[] {
    this.#ids.set(key(orgId, connector.name), connector.id);
    const firstSync = !this.#pinned.has(key(orgId, connector.id)) && this.#autoApprove(orgId, connector.id);
    const served: Tool[] = [];
    const withheld = new Map<string, Withheld>();
    for (const tool of tools) {
      const { definition, fingerprint: fp } = this.#definition(tool);
      const pin = this.#pins.get(key(orgId, connector.id, tool.name));
      if (pin?.approvedFingerprint === fp) {
        served.push(tool);
        // The upstream went back to the approved definition: the change it had pending is no longer there.
        if (pin.status !== 'approved') this.#write({ ...pin, status: 'approved', pendingFingerprint: null, pendingDefinition: null, findings: null, updatedAt: now() }, fp);
        continue;
      }
      withheld.set(exposedName(connector.name, tool.name), { connector: connector.name, tool: tool.name, status: pin?.pendingFingerprint === fp ? pin.status : 'pending' });
      if (pin?.pendingFingerprint === fp) continue;
      const findings = scanDefinition(definition);
      const text = JSON.stringify(definition);
      const auto = firstSync && findings.length === 0;
      const record: ToolPinRecord = {
          orgId,
          connectorId: connector.id,
          tool: tool.name,
          status: auto ? 'approved' : 'pending',
          approvedFingerprint: auto ? fp : (pin?.approvedFingerprint ?? null),
          approvedDefinition: auto ? text : (pin?.approvedDefinition ?? null),
          pendingFingerprint: auto ? null : fp,
          pendingDefinition: auto ? null : text,
          findings: findings.length === 0 ? null : JSON.stringify(findings),
          classification: pin?.classification ?? null,
          reviewedBy: auto ? 'gateway:first-sync' : (pin?.reviewedBy ?? null),
          updatedAt: now(),
      };
      if (auto) {
        // A first-sync approval is the setting's decision, not a person's: it applies at once (the first listing is
        // served as soon as it arrives) and is recorded in the background.
        this.#apply(record);
        withheld.delete(exposedName(connector.name, tool.name));
        served.push(tool);
      }
      this.#write(record, fp);
    }
    this.#withheld.set(key(orgId, connector.name), withheld);
    return served;
  }

  quarantined(orgId: string, exposed: string): Withheld | undefined {
    const sep = exposed.indexOf(SEPARATOR);
    if (sep <= 0) return undefined;
    return this.#withheld.get(key(orgId, exposed.slice(0, sep)))?.get(exposed);
  }

  readOnly(orgId: string, connector: string): boolean {
    const id = this.#ids.get(key(orgId, connector));
    return id !== undefined && this.#settings.get(key(orgId, id))?.readOnly === true;
  }

  reads(orgId: string, connector: string, tool: string): boolean {
    const id = this.#ids.get(key(orgId, connector));
    return id !== undefined && this.#pins.get(key(orgId, id, tool))?.classification === 'read';
  }

  #autoApprove(orgId: string, connectorId: string): boolean {
    return this.#settings.get(key(orgId, connectorId))?.autoApproveFirstSync ?? this.#settings.get(key(orgId, '*'))?.autoApproveFirstSync ?? true;
  }

  #definition(tool: Tool): { definition: PinnedDefinition; fingerprint: string } {
    let d = this.#definitions.get(tool);
    if (d === undefined) {
      const definition = pinnedDefinition(tool);
      d = { definition, fingerprint: fingerprint(definition) };
      this.#definitions.set(tool, d);
    }
    return d;
  }

  /** Writes a pin once (concurrent rebuilds see it in flight), then applies it and has the organisation rebuilt. */
  #write(pin: ToolPinRecord, fp: string): void {
    const k = key(pin.orgId, pin.connectorId, pin.tool, fp, pin.status);
    if (this.#writing.has(k)) return;
    this.#writing.add(k);
    const tool = key(pin.orgId, pin.connectorId, pin.tool);
    this.#unsettled.set(tool, pin);
    const done = this.#deps.store.pinning
      .putToolPin(pin)
      .then(() => {
        this.#apply(pin);
        if (pin.status === 'pending') this.#deps.log.warn({ orgId: pin.orgId, connectorId: pin.connectorId, tool: pin.tool }, 'tool definition quarantined until reviewed');
        this.#deps.onChange(pin.orgId);
      })
      .catch((err: unknown) => {
        this.#deps.log.error({ err, orgId: pin.orgId, connectorId: pin.connectorId, tool: pin.tool }, 'cannot record a tool definition; the tool stays withheld');
      })
      .finally(() => {
        this.#writing.delete(k);
        if (this.#unsettled.get(tool) === pin) this.#unsettled.delete(tool);
      });
    this.#inflight.add(done);
    void done.finally(() => this.#inflight.delete(done));
  }

  #apply(pin: ToolPinRecord): void {
    this.#pins.set(key(pin.orgId, pin.connectorId, pin.tool), pin);
    this.#pinned.add(key(pin.orgId, pin.connectorId));
  }

  /** Resolves once every pin being written has been (for start-up and tests). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
  }
}

function now(): string {
  return new Date().toISOString();
}
