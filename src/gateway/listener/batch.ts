import { GatehouseError, toGatehouseError } from '../../errors.ts';
import { classifyMessage, type JsonRpcMessage } from '../protocol.ts';
import { rpcError } from './respond.ts';
import type { RequestChannel, Session } from './session.ts';

/** JSON-RPC batches exist only in MCP 2025-03-26; later revisions removed them. */
export const BATCH_REVISION = '2025-03-26';
const MAX_BATCH = 64;

/**
 * One request of a batch. Its answer is collected for the batch's single JSON reply; anything that has to reach
 * the client before that (progress, log messages, requests to the client) goes on the session's standalone stream.
 */
export class BatchChannel implements RequestChannel {
  readonly #session: Session;
  #done = false;
  response: unknown;
  connector: string | undefined;

  constructor(session: Session) {
    this.#session = session;
  }

  get done(): boolean {
    return this.#done;
  }

  send(message: unknown): void {
    if (!this.#done) this.#session.deliver(message);
  }

  finish(response: unknown): void {
    this.#done = true;
    this.response = response;
  }
}

/**
 * Classifies each member of a batch. A malformed member gets its own error answer (id null) and does not spoil the
 * rest; initialize may not be batched.
 */
export function classifyBatch(items: readonly unknown[], correlationId: string): { messages: JsonRpcMessage[]; errors: unknown[] } {
  if (items.length === 0 || items.length > MAX_BATCH) {
    throw new GatehouseError('invalid_request', `A batch holds 1 to ${String(MAX_BATCH)} messages`);
  }
  const messages: JsonRpcMessage[] = [];
  const errors: unknown[] = [];
  for (const item of items) {
    try {
      const m = classifyMessage(item);
      if (m.kind === 'request' && m.message.method === 'initialize') {
        errors.push(rpcError(m.message.id, new GatehouseError('invalid_request', 'initialize must not be part of a batch'), correlationId));
      } else messages.push(m);
    } catch (err) {
      errors.push(rpcError(null, toGatehouseError(err), correlationId));
    }
  }
  return { messages, errors };
}
