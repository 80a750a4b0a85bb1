import type { IncomingMessage } from 'node:http';
import { GatehouseError } from '../../errors.ts';

/** Reads a request body as UTF-8, refusing (payload_too_large) one over `max` bytes, declared or streamed. */
export function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) {
      reject(new GatehouseError('payload_too_large', 'Request body too large'));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        // Stop collecting but leave the socket open: the listener answers 413 and then closes the connection.
        // Destroying it here would cut the client off before it sees the answer.
        req.off('data', onData);
        chunks.length = 0;
        reject(new GatehouseError('payload_too_large', 'Request body too large'));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      resolve(chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
