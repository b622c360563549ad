// Text for SVG files: escaping, tick values and labels. Pure, no Node (the webview draws SVG too).
import { xmlChars } from './sanitize';

/** Text for XML content or a double-quoted attribute: markup escaped, characters XML forbids replaced by U+FFFD (runlog/sanitize.ts). */
export function esc(s: string): string {
  return xmlChars(s).replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string,
  );
}

/** A tick label: integers as they are, others with at most two decimals. */
export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}

/** Evenly spaced "nice" ticks from 0 to max. */
export function ticks(max: number, count: number): number[] {
  return niceTicks(0, max, count);
}

/** Evenly spaced "nice" ticks covering [min, max] (min <= max). */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min) || !Number.isFinite(max - min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  // At most 2 * count + 3 ticks: where step is below the precision of the values, v += step would not move.
  let v = Math.ceil(min / step - 1e-9) * step;
  for (let k = 0; v <= max + 1e-9 && k <= 2 * count + 2; k++) {
    out.push(Number(v.toFixed(10)));
    if (v + step === v) break;
    v += step;
  }
  return out.length ? out : [min];
}

/**
 * A polyline's points thinned to its width, fed point by point in x order: per pixel column its
 * first and last points, and its lowest and highest when beyond them, so that the drawn shape stays the same.
 */
export class Decimator {
  private readonly pts: string[] = [];
  private col = Number.NaN;
  private bucket: [number, number][] = [];

  add(x: number, y: number): void {
    const col = Math.round(x);
    if (col !== this.col) this.flush();
    this.col = col;
    // The bucket: first, lowest and highest of those between, last (sorted by x when written).
    const b = this.bucket;
    if (b.length < 4) {
      b.push([x, y]);
      if (b.length === 4 && b[1][1] > b[2][1]) [b[1], b[2]] = [b[2], b[1]];
      return;
    }
    const before = b[3];
    if (before[1] < b[1][1]) b[1] = before;
    if (before[1] > b[2][1]) b[2] = before;
    b[3] = [x, y];
  }

  private flush(): void {
    // Within a column only the vertical extent shows: the lowest and highest matter beyond the ends.
    const b = this.bucket;
    const kept =
      b.length < 4
        ? b
        : [
            b[0],
            ...[b[1], b[2]].filter((p) => p[1] < Math.min(b[0][1], b[3][1]) || p[1] > Math.max(b[0][1], b[3][1])),
            b[3],
          ].sort((p, q) => p[0] - q[0]);
    for (const [x, y] of kept) this.pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
    this.bucket = [];
  }

  /** The points as an SVG `points` attribute. */
  points(): string {
    this.flush();
    return this.pts.join(' ');
  }
}
