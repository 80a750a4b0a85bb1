import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { GatehouseError } from '../../../errors.ts';
import type { Egress } from '../../../egress/egress.ts';
import { octetFrame, syslogMessage } from './format.ts';
import { SinkError, type Sink } from './sink.ts';

const DEFAULT_PORT = 6514;
const CONNECT_TIMEOUT_MS = 10_000;

export interface SyslogSettings {
  /** `tls://host[:port]` (RFC 5425; port 6514 by default). */
  readonly url: string;
  /** PEM file of the CA(s) the receiver's certificate must chain to; the system's CAs when absent. */
  readonly caFile?: string | undefined;
  /** PEM files of the client certificate and key, for a receiver that authenticates its senders. */
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /**
   * How long a connection must stay up after a batch was written before the batch counts as delivered. Syslog over
   * TLS has no acknowledgement: a receiver that goes away takes with it what sat unread in its socket, and the sender
   * learns of it only when the connection breaks. A break inside this window sends the batch again (same seq).
   */
  readonly settleMs: number;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GatehouseError('config_invalid', `Cannot read the syslog ${what} file ${path}`, { cause: err });
  }
}

/** Parses `tls://host[:port]`; anything else is refused (syslog leaves only over TLS). */
export function parseSyslogUrl(text: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GatehouseError('config_invalid', 'siemSyslogUrl must be tls://host[:port]');
  }
  if (url.protocol !== 'tls:' || url.hostname === '' || url.username !== '' || url.password !== '' || (url.pathname !== '' && url.pathname !== '/')) {
    throw new GatehouseError('config_invalid', 'siemSyslogUrl must be tls://host[:port] (syslog is sent over TLS only, RFC 5425)');
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? DEFAULT_PORT : Number(url.port) };
}

/**
 * RFC 5424 messages over TLS (RFC 5425) with octet-counting framing, on one kept-open connection. The receiver's
 * address passes the same egress checks as every other destination, and the connection is made to the address that
 * was checked; the certificate is verified against the host name (or the IP address written in the URL).
 */
export function createSyslogSink(deps: { egress: Egress; settings: SyslogSettings }): Sink {
  const { host, port } = parseSyslogUrl(deps.settings.url);
  const ca = readPem(deps.settings.caFile, 'CA');
  const cert = readPem(deps.settings.certFile, 'certificate');
  const key = readPem(deps.settings.keyFile, 'key');
  if ((cert === undefined) !== (key === undefined)) throw new GatehouseError('config_invalid', 'a syslog client certificate needs its key, and a key its certificate');
  // The same host rules as any https destination: the scheme is only the vehicle for the check.
  const hostPort = `${isIP(host) === 6 ? `[${host}]` : host}:${String(port)}`;
  deps.egress.parse(`https://${hostPort}/`);

  let socket: TLSSocket | undefined;
  /** Bumped whenever a connection breaks, so a batch can tell whether the connection it was written to survived. */
  let breaks = 0;

  async function open(): Promise<TLSSocket> {
    if (socket !== undefined && !socket.destroyed) return socket;
    const { addresses } = await deps.egress.check(`https://${hostPort}/`);
    const pinned = addresses[0];
    if (pinned === undefined) throw new SinkError('the syslog host does not resolve');
    const s = await new Promise<TLSSocket>((resolve, reject) => {
      const sock = connect({
        host: pinned.address,
        port,
        // The certificate is checked against servername, or against host (the literal address) when there is none.
        servername: isIP(host) === 0 ? host : undefined,
        ca,
        cert,
        key,
        minVersion: 'TLSv1.2',
        timeout: CONNECT_TIMEOUT_MS,
      });
      const fail = (err: Error) => {
        sock.destroy();
        reject(new SinkError(`cannot connect to the syslog receiver: ${err.message}`, { cause: err }));
      };
      sock.once('error', fail);
      sock.once('timeout', () => {
        fail(new Error('timed out'));
      });
      sock.once('secureConnect', () => {
        sock.off('error', fail);
        sock.setTimeout(0);
        resolve(sock);
      });
    });
    const broken = () => {
      if (socket === s) {
        socket = undefined;
        breaks++;
      }
      s.destroy();
    };
    s.on('error', broken);
    s.on('end', broken);
    s.on('close', broken);
    // A receiver has nothing to say; whatever it sends is read and dropped so it cannot fill a buffer.
    s.on('data', () => undefined);
    s.setKeepAlive(true, 10_000);
    socket = s;
    return s;
  }

  return {
    name: 'syslog',
    target: `tls://${hostPort}`,
    async deliver(_chain, records) {
      const s = await open();
      const before = breaks;
      const payload = records.map((r) => octetFrame(syslogMessage(r))).join('');
      await new Promise<void>((resolve, reject) => {
        s.write(payload, 'utf8', (err) => {
          if (err) reject(new SinkError(`the syslog connection failed: ${err.message}`, { cause: err }));
          else resolve();
        });
      });
      await new Promise((r) => setTimeout(r, deps.settings.settleMs));
      if (breaks !== before || s.destroyed) throw new SinkError('the syslog connection broke after a batch was written; it is sent again');
    },
    async close() {
      const s = socket;
      socket = undefined;
      if (s === undefined || s.destroyed) return;
      await new Promise<void>((resolve) => {
        s.end(() => {
          resolve();
        });
        setTimeout(resolve, 1000).unref();
      });
      s.destroy();
    },
  };
}
