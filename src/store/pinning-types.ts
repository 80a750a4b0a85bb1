/**
 * Tool pinning and read-only connectors (gateway/catalog/tool-pins.ts). Per organisation and connector, each tool's
 * approved definition and the change waiting for review, and per connector the settings that decide what is served.
 */

/** `approved`: the upstream's current definition is the approved one. `pending`: a new or changed one awaits review. `rejected`: an admin refused it. */
export type PinStatus = 'approved' | 'pending' | 'rejected';

/** How an admin classified a tool for read-only connectors: only `read` tools are served there. */
export type ToolClass = 'read' | 'write';

export interface ToolPinRecord {
  readonly orgId: string;
  readonly connectorId: string;
  /** The upstream's own tool name. */
  readonly tool: string;
  readonly status: PinStatus;
  /** SHA-256 of the approved definition's canonical JSON; null for a tool never approved. */
  readonly approvedFingerprint: string | null;
  /** The approved definition, JSON text. */
  readonly approvedDefinition: string | null;
  /** The definition awaiting review or rejected (status pending or rejected), else null. */
  readonly pendingFingerprint: string | null;
  readonly pendingDefinition: string | null;
  /** JSON text: the scan's findings on the pending definition ([{rule, place}]), null when it had none. */
  readonly findings: string | null;
  readonly classification: ToolClass | null;
  /** Who approved, rejected or classified last ('gateway' for an auto-approval on a first sync). */
  readonly reviewedBy: string | null;
  readonly updatedAt: string;
}

/** A connector's settings; connectorId '*' holds the organisation's default for auto-approval. */
export interface PinSettings {
  readonly orgId: string;
  readonly connectorId: string;
  /** Only tools classified as reading are listed and called. */
  readonly readOnly: boolean;
  /** Approve the tools of a connector's first sync without review (clean definitions only); null: inherit (default on). */
  readonly autoApproveFirstSync: boolean | null;
  readonly updatedAt: string;
}

export interface PinningStore {
  /** Creates or replaces a pin. */
  putToolPin(pin: ToolPinRecord): Promise<void>;
  getToolPin(orgId: string, connectorId: string, tool: string): Promise<ToolPinRecord | undefined>;
  listToolPins(orgId: string): Promise<ToolPinRecord[]>;
  /** Every organisation's pins, for the gateway's cache. */
  listAllToolPins(): Promise<ToolPinRecord[]>;
  putPinSettings(settings: PinSettings): Promise<void>;
  getPinSettings(orgId: string, connectorId: string): Promise<PinSettings | undefined>;
  listAllPinSettings(): Promise<PinSettings[]>;
  /** Moves whenever a pin or a setting is written, by any process or replica. */
  pinningRevision(): Promise<number>;
}
