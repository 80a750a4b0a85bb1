/**
 * What an upstream's `WWW-Authenticate: Bearer ...` says (RFC 6750 §3, RFC 9728 §5.1): where its protected resource
 * metadata is, which scope it wants, and why it refused. Only the Bearer challenge is read; other schemes are ignored.
 */
export interface BearerChallenge {
  readonly resourceMetadata?: string | undefined;
  readonly scope?: string | undefined;
  readonly error?: string | undefined;
}

const MAX_HEADER_CHARS = 8192;

export function parseBearerChallenge(header: string | undefined): BearerChallenge | undefined {
  if (header === undefined || header.length > MAX_HEADER_CHARS) return undefined;
  const start = /(?:^|,)\s*bearer(?:\s+|$)/i.exec(header);
  if (start === null) return undefined;
  const params: Record<string, string> = {};
  // auth-param = token BWS "=" BWS ( token / quoted-string ); a following challenge ("Basic realm=...") stops it.
  const param = /\s*([A-Za-z0-9_!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(,|$)/y;
  param.lastIndex = start.index + start[0].length;
  for (;;) {
    const at = param.lastIndex;
    const m = param.exec(header);
    if (m === null || m.index !== at) break;
    const name = (m[1] ?? '').toLowerCase();
    params[name] ??= m[2] === undefined ? (m[3] ?? '') : m[2].replace(/\\(.)/g, '$1');
    if (m[4] === '') break;
    // A comma followed by `scheme token=` starts the next challenge.
    if (/^\s*[A-Za-z0-9_!#$%&'*+.^`|~-]+\s+[A-Za-z0-9_!#$%&'*+.^`|~-]+\s*=/.test(header.slice(param.lastIndex))) break;
  }
  return {
    ...(params.resource_metadata === undefined ? {} : { resourceMetadata: params.resource_metadata }),
    ...(params.scope === undefined ? {} : { scope: params.scope }),
    ...(params.error === undefined ? {} : { error: params.error }),
  };
}

/** Space-separated scope lists joined, each scope once, in first-seen order. */
export function unionScopes(...lists: readonly (string | undefined)[]): string | undefined {
  const out = new Set<string>();
  for (const l of lists) for (const s of (l ?? '').split(' ')) if (s !== '') out.add(s);
  return out.size === 0 ? undefined : [...out].join(' ');
}
