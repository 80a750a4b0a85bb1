/**
 * The floor of any Node hop: a plain node:http proxy that pipes request and response bytes to and from one upstream
 * over a keep-alive agent, parsing nothing but the HTTP framing (no JSON, no MCP, no checks). Started by
 * bench/processes.ts as its own process, so its CPU is its own:
 *
 *   node bench/byte-proxy.ts --upstream http://127.0.0.1:PORT/mcp
 *
 * Prints `LISTENING <url>` (the upstream's path on the proxy's port) once it accepts connections.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { upstream: { type: 'string' } }, strict: true });
if (values.upstream === undefined) throw new Error('--upstream is required');
const upstream = new URL(values.upstream);
const agent = new Agent({ keepAlive: true, maxFreeSockets: 256 });

/** Headers that describe one connection, not the message (RFC 9110 section 7.6.1): each hop sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const server = createServer((req, res) => {
  const forward = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...endToEnd(req.headers), host: upstream.host }, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      answer.pipe(res);
    },
  );
  forward.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forward);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`LISTENING http://127.0.0.1:${String(port)}${upstream.pathname}\n`);
});
