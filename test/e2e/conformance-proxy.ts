/**
 * A loopback-only forwarding proxy for the conformance suite, which sends no credentials: every request (any method,
 * path and body; SSE answers streamed back as they arrive) goes to the gateway with `Authorization: Bearer <key>`
 * added. Host and Origin are passed on exactly as the client sent them, so the gateway's own DNS-rebinding check is
 * what the dns-rebinding-protection scenario meets.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ForwardingProxy {
  /** e.g. http://127.0.0.1:43123 */
  readonly origin: string;
  readonly port: number;
  /** Requests forwarded so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

export interface ForwardingProxyOptions {
  /** The gateway's base URL; must be a loopback address. */
  readonly target: string;
  /** The value of the Authorization header added to every request, e.g. `Bearer gh_...`. */
  readonly authorization: string;
  /** Port to listen on (0, the default, picks an ephemeral one). */
  readonly port?: number;
}

/** Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are not forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

export async function startForwardingProxy(opts: ForwardingProxyOptions): Promise<ForwardingProxy> {
  const target = new URL(opts.target);
  if (target.protocol !== 'http:' || !isLoopback(target.hostname)) throw new Error(`the proxy only forwards to loopback http, not ${target.origin}`);
  const agent = new Agent({ keepAlive: true });
  let forwarded = 0;

  const server = createServer((req, res) => {
    forwarded++;
    const headers = forwardable(req.headers);
    // The incoming Host stays as it is (node:http sends a given host header instead of the target's).
    delete headers.authorization;
    headers.authorization = opts.authorization;
    const upstream = request(
      { agent, host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
        // Send the status line and headers now: an SSE stream may not carry its first event for a while.
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('proxy: gateway unreachable');
      else res.destroy();
    });
    // A client that goes away (a cancelled SSE read, an aborted fetch) ends the gateway request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    get forwarded() {
      return forwarded;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
        agent.destroy();
      });
      return closing;
    },
  };
}
