// Numbers of normalized events (null where a writer gave none, or NaN) as text for people.

/** v with `digits` decimals, or 'n/a'. */
export function fixed(v: number | null | undefined, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

/** A fraction as a percentage with `digits` decimals, or 'n/a'. */
export function percent(v: number | null | undefined, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : 'n/a';
}
