// "Did you mean": the nearest candidate to a misspelt key, value or layer name.

const ALIASES: Record<string, string> = { lr: 'learningRate', wd: 'weightDecay', bs: 'batchSize', optim: 'optimizer' };

/** The candidate closest to `word` (ignoring case, '_' and '-'), if it is a near miss. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const alias = ALIASES[word.toLowerCase()];
  if (alias && candidates.includes(alias)) return alias;
  const w = normalizeName(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const n = normalizeName(c);
    // The distance is at least the difference in length: past the limit, no near miss (and a
    // long word costs no table of its length times the candidate's).
    if (Math.abs(n.length - w.length) > Math.max(1, Math.floor(n.length / 3))) continue;
    const d = editDistance(w, n);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(normalizeName(best).length / 3));
  return bestDistance <= limit && bestDistance < w.length ? best : undefined;
}

function normalizeName(s: string): string {
  return s.toLowerCase().replace(/[_\-\s]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
