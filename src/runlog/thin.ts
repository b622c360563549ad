// Evenly spaced picks: which of `n` items (records, layers) to keep when at most `max` are shown.
// Pure, imports nothing: the host, the CLI and the webview share it.

/** Indices of `n` items thinned to at most `max`: the first, the last and evenly spaced ones. */
export function thinIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  if (max <= 0) return [];
  if (max === 1) return [n - 1];
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.round((k * (n - 1)) / (max - 1)));
  return out;
}
