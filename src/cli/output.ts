/** CLI output. Results go to stdout, problems to stderr; nothing here ever receives a secret except `printOnce`. */
export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

export function err(line: string): void {
  process.stderr.write(line + '\n');
}

export function table(rows: readonly Record<string, string>[], columns: readonly string[]): void {
  if (rows.length === 0) {
    out('(none)');
    return;
  }
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  out(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) out(line(columns.map((c) => r[c] ?? '')));
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}
