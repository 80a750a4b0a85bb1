/**
 * The load generator. Kept cheap so that on a small machine it leaves the CPU to what is measured: plain node:http
 * with a keep-alive agent and pre-serialised JSON-RPC bodies for HTTP targets (the MCP handshake done by hand),
 * the SDK client only for the direct stdio baseline, where there is no HTTP.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import * as z from 'zod';

export const PROTOCOL_VERSION = '2025-11-25';

/** Sends one tools/call and resolves when a successful result has arrived; rejects otherwise. */
export type Send = () => Promise<void>;

export interface Phase {
  readonly concurrency: number;
  readonly maxRequests: number;
  readonly maxMs: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly elapsedMs: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

/** `concurrency` callers, each sending its next request as soon as the last one is answered, until time or count runs out. */
export async function runLoad(send: Send, phase: Phase): Promise<LoadResult> {
  const latencies = new Float64Array(phase.maxRequests);
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + phase.maxMs;
  const worker = async (): Promise<void> => {
    while (issued < phase.maxRequests && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      try {
        await send();
        latencies[done++] = performance.now() - t0;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: phase.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const sorted = latencies.subarray(0, done).sort();
  const rank = (q: number): number => (done === 0 ? Number.NaN : sorted[Math.min(done - 1, Math.max(0, Math.ceil(q * done) - 1))]!);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    requests: done,
    errors,
    firstError,
    elapsedMs,
    rps: (done / elapsedMs) * 1000,
    p50Ms: rank(0.5),
    p99Ms: rank(0.99),
    meanMs: done === 0 ? Number.NaN : sum / done,
  };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function post(agent: Agent | undefined, url: URL, headers: Record<string, string>, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function baseHeaders(key: string | undefined): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  return h;
}

/** An MCP session over Streamable HTTP, opened by hand: initialize, read Mcp-Session-Id, notifications/initialized. */
export interface HttpSession {
  readonly url: URL;
  readonly key: string | undefined;
  readonly id: string;
}

export async function openHttpSession(url: string, key?: string, agent?: Agent): Promise<HttpSession> {
  const target = new URL(url);
  const init = JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'gatehouse-bench', version: '0.1.0' } },
  });
  const reply = await post(agent, target, baseHeaders(key), init);
  const id = reply.headers['mcp-session-id'];
  if (reply.status !== 200 || typeof id !== 'string' || !reply.body.includes('"result"')) {
    throw new Error(`initialize failed: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
  }
  const headers = { ...baseHeaders(key), 'mcp-session-id': id, 'mcp-protocol-version': PROTOCOL_VERSION };
  const ack = await post(agent, target, headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  if (ack.status !== 202) throw new Error(`notifications/initialized failed: HTTP ${ack.status} ${ack.body.slice(0, 200)}`);
  return { url: target, key, id };
}

/** A tools/call sender over one session with a keep-alive agent of `concurrency` sockets. Close it after the phase. */
export function httpToolCaller(session: HttpSession, tool: string, concurrency: number): { send: Send; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const headers = { ...baseHeaders(session.key), 'mcp-session-id': session.id, 'mcp-protocol-version': PROTOCOL_VERSION };
  const head = '{"jsonrpc":"2.0","id":';
  const tail = `,"method":"tools/call","params":{"name":${JSON.stringify(tool)},"arguments":{"text":"hello"}}}`;
  let next = 1;
  const send: Send = async () => {
    const reply = await post(agent, session.url, headers, head + String(next++) + tail);
    // The fixture answers with SSE, the gateway with JSON: either way a success carries a result and no tool error.
    if (reply.status !== 200 || !reply.body.includes('"result"') || reply.body.includes('"isError":true')) {
      throw new Error(`tools/call failed: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
    }
  };
  return {
    send,
    close: () => {
      agent.destroy();
    },
  };
}

const AnyResult = z.looseObject({});

export interface StdioTarget {
  readonly send: Send;
  readonly pid: number | null;
  close(): Promise<void>;
}

/** The direct stdio baseline: the fixture spawned over stdio and driven by the SDK client, as the gateway drives it. */
export async function openStdioTarget(command: string, args: string[]): Promise<StdioTarget> {
  const transport = new StdioClientTransport({ command, args, stderr: 'ignore' });
  const client = new Client({ name: 'gatehouse-bench', version: '0.1.0' }, { capabilities: {} });
  await client.connect(transport);
  const params = { name: 'echo', arguments: { text: 'hello' } };
  return {
    pid: transport.pid,
    async send() {
      const result = await client.request({ method: 'tools/call', params }, AnyResult);
      if (!Array.isArray(result.content) || result.isError === true) throw new Error(`tools/call failed: ${JSON.stringify(result).slice(0, 200)}`);
    },
    close: () => client.close(),
  };
}
