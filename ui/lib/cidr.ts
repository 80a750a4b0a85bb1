/**
 * CIDR checks in the browser, so a mistyped range is pointed out before anything is sent. The gateway checks again
 * (ipaddr.js); this only has to agree on what is well formed.
 */
function ipv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function ipv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split('::').length > 2) return false;
  let groups = text.split(':');
  const last = groups.at(-1) ?? '';
  let need = 8;
  if (last.includes('.')) {
    if (!ipv4(last)) return false;
    groups = groups.slice(0, -1);
    need = 6;
  }
  const compressed = text.includes('::');
  const filled = groups.filter((g, i) => !(g === '' && (compressed || i === 0 || i === groups.length - 1)));
  if (!filled.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return compressed ? filled.length < need : filled.length === need;
}

/** Whether `text` is an IPv4 or IPv6 address with a prefix length that fits it (`10.0.0.0/8`, `2001:db8::/32`). */
export function isCidr(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash === -1) return false;
  const address = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(bits)) return false;
  if (ipv4(address)) return Number(bits) <= 32;
  if (ipv6(address)) return Number(bits) <= 128;
  return false;
}

/** The lines of a textarea as CIDRs, and those that are not. */
export function parseCidrLines(text: string): { cidrs: string[]; bad: string[] } {
  const lines = text.split(/[\n,]/).map((l) => l.trim()).filter((l) => l !== '');
  return { cidrs: lines.filter(isCidr), bad: lines.filter((l) => !isCidr(l)) };
}
