import { visible } from './definition-scan.ts';
import { canonicalJson } from './pinning.ts';

/**
 * A line diff of two definitions as a reviewer reads them: canonical JSON, two-space indent, hidden characters made
 * visible; `-` lines are the approved definition's, `+` lines the new one's, unchanged lines start with two spaces.
 * An absent old definition (a new tool) shows the new one as all added.
 */
export function definitionDiff(before: unknown, after: unknown): string {
  const a = before === undefined || before === null ? [] : visible(canonicalJson(before, 2)).split('\n');
  const b = visible(canonicalJson(after, 2)).split('\n');
  // Longest common subsequence by dynamic programming: definitions are a few hundred lines at most.
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] ?? [];
    const next = lcs[i + 1] ?? [];
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] ?? 0) + 1 : Math.max(next[j] ?? 0, row[j + 1] ?? 0);
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push(`  ${a[i] ?? ''}`);
      i++;
      j++;
    } else if (i < n && (j >= m || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) {
      out.push(`- ${a[i] ?? ''}`);
      i++;
    } else {
      out.push(`+ ${b[j] ?? ''}`);
      j++;
    }
  }
  return out.join('\n');
}
