// Min/max decimation of lines to the pixel columns they are drawn on: of the rows falling in one
// column only the least and the greatest value (in the order they occur) change the pixels a
// polyline covers there, so a chart of 20,000 records per line draws about two points per pixel
// column and looks the same as the full line. The columns are laid out once from the x values
// (columnLayout), then each line of the chart is decimated over them (minMaxRows) in one pass.
// Pure, imports nothing: the webview's charts use it.

/**
 * `buf` with room for `n` more values past its first `used`: itself when it has it, else a buffer
 * twice as long (or more, doubling) from `make`, the first `used` values copied over.
 */
function withRoom<T extends Int32Array | Float64Array>(buf: T, used: number, n: number, make: (size: number) => T): T {
  const need = used + n;
  if (need <= buf.length) return buf;
  let cap = Math.max(1, buf.length) * 2;
  while (cap < need) cap *= 2;
  const next = make(cap);
  next.set(buf.subarray(0, used));
  return next;
}

/**
 * Row indices, appended; the buffer grows by doubling and is reused from one decimation to the
 * next. With them, what minMaxRows saw of the values within the x range: the least, the
 * greatest, the least positive (of every row there, not only those kept; Infinity/-Infinity: none).
 */
export class RowList {
  rows: Int32Array;
  length = 0;
  min = Infinity;
  max = -Infinity;
  minPositive = Infinity;

  constructor(capacity = 256) {
    this.rows = new Int32Array(Math.max(4, capacity));
  }

  push(row: number): void {
    if (this.length === this.rows.length) this.reserve(1);
    this.rows[this.length++] = row;
  }

  /** Makes room for `n` more rows (capacity doubles as needed): that many can be written to `rows` past `length` without push. */
  reserve(n: number): void {
    this.rows = withRoom(this.rows, this.length, n, (size) => new Int32Array(size));
  }

  clear(): void {
    this.length = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.minPositive = Infinity;
  }

  /** The rows kept (a view: valid until the next push). */
  view(): Int32Array {
    return this.rows.subarray(0, this.length);
  }
}

/** The first of the first `n` rows whose x is at least `v` (`past`: greater than v); NaN rows go with the row after them. */
function search(xs: ArrayLike<number>, n: number, v: number, past: boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    let j = mid;
    while (j < hi && Number.isNaN(xs[j])) j++;
    if (j < hi && (past ? xs[j] <= v : xs[j] < v)) lo = j + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The rows [from, to) of the first `n` rows of `xs` (non-decreasing; NaN rows aside) that a chart
 * of x range [x0, x1] draws: those in the range and the nearest one outside it on each side (so
 * the line runs on to the chart's edges).
 */
export function rowsInRange(xs: ArrayLike<number>, n: number, x0: number, x1: number): [number, number] {
  return [Math.max(0, search(xs, n, x0, false) - 1), Math.min(n, search(xs, n, x1, true) + 1)];
}

/** Where rows fall in the pixel columns of an x range: the same for every line of a chart. */
export interface ColumnLayout {
  from: number;
  to: number;
  x0: number;
  x1: number;
  /** Every row kept (at most two a column): no decimation. */
  all: boolean;
  /** Row runs falling in one column: run k is rows [starts[k], starts[k + 1]); `runs` of them. */
  starts: Int32Array;
  runs: number;
  /** Per run: whether it is within [x0, x1] (its values count in the extent). */
  inRange: Uint8Array;
  /** Rows [from, to) whose x is NaN (a gap), or null when there is none. */
  nanX: Uint8Array | null;
}

/**
 * The pixel columns of the rows [from, to) of `xs` over the x range [x0, x1] drawn `columns`
 * pixels wide: rows before x0 and after x1 count as one column each; a row of NaN x is a gap.
 */
export function columnLayout(
  xs: ArrayLike<number>,
  from: number,
  to: number,
  x0: number,
  x1: number,
  columns: number,
): ColumnLayout {
  const cols = Math.max(1, Math.floor(columns));
  const n = Math.max(0, to - from);
  let nanX: Uint8Array | null = null;
  const all = n <= 2 * cols || !(x1 > x0);
  const starts = new Int32Array(all ? 1 : Math.min(n, cols + 2) + 2);
  const inRange = new Uint8Array(starts.length);
  let runs = 0;
  // One pass: the rows of NaN x, and (unless every row is kept) where each column's rows start.
  const scale = cols / (x1 - x0);
  let col = Number.NaN;
  let laid = all;
  for (let r = from; r < to; r++) {
    const x = xs[r];
    if (Number.isNaN(x)) {
      nanX ??= new Uint8Array(n);
      nanX[r - from] = 1;
      continue;
    }
    if (laid) continue;
    const c = x < x0 ? -1 : x > x1 ? cols : Math.min(cols - 1, Math.floor((x - x0) * scale));
    if (c !== col) {
      if (runs + 1 >= starts.length) {
        laid = true;
        continue;
      }
      col = c;
      starts[runs] = r;
      inRange[runs] = c >= 0 && c < cols ? 1 : 0;
      runs++;
    }
  }
  starts[runs] = to;
  return { from, to, x0, x1, all, starts, runs, inRange, nanX };
}

/**
 * The rows minMaxRows writes over `layout` without checking for room (a line's common case):
 * every row when the layout keeps all, else four a column.
 */
export function rowsNeeded(layout: ColumnLayout): number {
  return layout.all ? Math.max(0, layout.to - layout.from) : 4 * layout.runs;
}

/**
 * Room for `n` rows in each of `lists` (a chart's lines, decimated over one layout): those
 * short of it get views of one buffer made for them all (a chart of 200 lines: one allocation,
 * not 200), their rows kept.
 */
export function reserveRows(lists: readonly RowList[], n: number): void {
  const short = lists.filter((l) => l.rows.length < n);
  if (short.length === 0) return;
  const slab = new Int32Array(short.length * n);
  short.forEach((l, k) => {
    const rows = slab.subarray(k * n, (k + 1) * n);
    rows.set(l.rows.subarray(0, l.length));
    l.rows = rows;
  });
}

/**
 * The least positive finite value of `ys` over the rows [from, to) and `least` (Infinity: none).
 * (Of a stretch whose least value is positive, that value is the one: the caller passes it alone.)
 */
function leastPositive(ys: ArrayLike<number>, from: number, to: number, least: number): number {
  for (let j = from; j < to; j++) {
    const y = ys[j];
    if (y > 0 && y < least && y !== Infinity) least = y;
  }
  return least;
}

/**
 * The rows of one line to draw over a column layout: in each column the row of the least y and
 * the row of the greatest, in the order they occur; the first and the last row of each unbroken
 * stretch (the line starts and ends where the full line does); and one row of each run of rows
 * whose x or y is NaN (a gap: the line breaks there). Every row when the layout keeps all. Appended
 * to `out` (cleared first, then told the extent of the values within the x range), which is returned.
 */
export function minMaxRows(xs: ArrayLike<number>, ys: ArrayLike<number>, layout: ColumnLayout, out: RowList): RowList {
  out.clear();
  const { from, to, nanX } = layout;
  let min = Infinity;
  let max = -Infinity;
  let minPositive = Infinity;
  const see = (y: number) => {
    if (!Number.isFinite(y)) return;
    if (y < min) min = y;
    if (y > max) max = y;
    if (y > 0 && y < minPositive) minPositive = y;
  };
  if (layout.all) {
    const { x0, x1 } = layout;
    out.reserve(rowsNeeded(layout));
    const buf = out.rows;
    for (let r = from; r < to; r++) {
      buf[r - from] = r;
      const x = xs[r];
      if (x >= x0 && x <= x1) see(ys[r]);
    }
    out.length = Math.max(0, to - from);
  } else {
    const { starts, runs, inRange } = layout;
    // Whether the last row kept is a gap (or nothing is kept yet).
    let gap = true;
    const cand = [0, 0, 0, 0];
    // Room for the common case's rows (at most four a column: written without push), and the
    // buffer and its length kept in locals by that case (put back before a push, read after).
    out.reserve(rowsNeeded(layout));
    let buf = out.rows;
    let len = out.length;
    for (let k = 0; k < runs; k++) {
      const end = starts[k + 1];
      const counted = inRange[k] === 1;
      let r = starts[k];
      if (nanX === null && r < end) {
        // The common case first: a column without NaN is one stretch. (A NaN makes the sum NaN:
        // then the column is gone over again below, stretch by stretch.)
        let lo = r;
        let hi = r;
        let loY = ys[r];
        let hiY = loY;
        let sum = loY;
        // Two rows at a time: the lesser of the pair against the least, the greater against the
        // greatest (three comparisons for two rows, fewer branches to mispredict); the first row of
        // the least and of the greatest value, as one row at a time finds them.
        let j = r + 1;
        for (; j + 1 < end; j += 2) {
          const a = ys[j];
          const b = ys[j + 1];
          sum += a + b;
          if (a < b) {
            if (a < loY) {
              lo = j;
              loY = a;
            }
            if (b > hiY) {
              hi = j + 1;
              hiY = b;
            }
          } else if (a > b) {
            if (b < loY) {
              lo = j + 1;
              loY = b;
            }
            if (a > hiY) {
              hi = j;
              hiY = a;
            }
          } else if (a < loY) {
            lo = j;
            loY = a;
          } else if (a > hiY) {
            hi = j;
            hiY = a;
          }
        }
        if (j < end) {
          const y = ys[j];
          sum += y;
          if (y < loY) {
            lo = j;
            loY = y;
          } else if (y > hiY) {
            hi = j;
            hiY = y;
          }
        }
        if (!Number.isNaN(sum)) {
          // In row order, each once: the stretch's first row after a gap, its least and greatest, the line's last row.
          // (At most four rows: written in place, in the room reserved.)
          const a = lo < hi ? lo : hi;
          const b = lo < hi ? hi : lo;
          if (len + 4 > buf.length) {
            out.length = len;
            out.reserve(4);
            buf = out.rows;
          }
          // Each row written, then kept or not: no branch taken only now and then, which V8, having
          // never seen it taken (the warm-up's lines), would leave out of its compiled code and
          // go back to the slow code the first time it is.
          buf[len] = r;
          len += gap && r !== a ? 1 : 0;
          buf[len++] = a;
          buf[len] = b;
          len += b !== a ? 1 : 0;
          buf[len] = end - 1;
          len += k === runs - 1 && end - 1 !== b ? 1 : 0;
          gap = false;
          if (counted) {
            // see(loY) and see(hiY), inline (the column's least value is the least positive one when positive).
            if (loY > 0) {
              if (loY < minPositive && loY !== Infinity) minPositive = loY;
            } else minPositive = leastPositive(ys, r, end, minPositive);
            if (loY < min && loY !== -Infinity) min = loY;
            if (hiY > max && hiY !== Infinity) max = hiY;
            if (loY > max && loY !== Infinity) max = loY;
            if (hiY < min && hiY !== -Infinity) min = hiY;
          }
          continue;
        }
      }
      out.length = len;
      while (r < end) {
        // One stretch within the column: up to the next NaN.
        let first = -1;
        let lo = -1;
        let hi = -1;
        let loY = 0;
        let hiY = 0;
        const y0 = ys[r];
        if (!(Number.isNaN(y0) || (nanX !== null && nanX[r - from] === 1))) {
          first = lo = hi = r;
          loY = hiY = y0;
          r++;
          // The hot loop (every row of every line): a NaN ends the stretch (tested last: it is rare).
          if (nanX === null)
            for (; r < end; r++) {
              const y = ys[r];
              if (y < loY) {
                lo = r;
                loY = y;
              } else if (y > hiY) {
                hi = r;
                hiY = y;
              } else if (Number.isNaN(y)) break;
            }
          else
            for (; r < end; r++) {
              const y = ys[r];
              if (Number.isNaN(y) || nanX[r - from] === 1) break;
              if (y < loY) {
                lo = r;
                loY = y;
              } else if (y > hiY) {
                hi = r;
                hiY = y;
              }
            }
          // The least positive value: the least one when it is positive, else a look for one (rare).
          if (counted) minPositive = leastPositive(ys, loY > 0 ? lo : first, loY > 0 ? lo + 1 : r, minPositive);
        }
        const broken = r < end;
        if (first >= 0) {
          let c = 0;
          if (gap) cand[c++] = first;
          cand[c++] = lo;
          cand[c++] = hi;
          if (broken || (k === runs - 1 && r === end)) cand[c++] = r - 1;
          // In row order, each once (at most four: a tiny sort).
          for (let i = 1; i < c; i++)
            for (let j = i; j > 0 && cand[j - 1] > cand[j]; j--) {
              const t = cand[j];
              cand[j] = cand[j - 1];
              cand[j - 1] = t;
            }
          let prev = -1;
          for (let i = 0; i < c; i++)
            if (cand[i] !== prev) {
              out.push(cand[i]);
              prev = cand[i];
            }
          gap = false;
          if (counted) {
            see(loY);
            see(hiY);
          }
        }
        if (broken) {
          // The NaN rows: one kept (a gap), then on past them.
          if (!gap) out.push(r);
          gap = true;
          r++;
          while (r < end && (Number.isNaN(ys[r]) || (nanX !== null && nanX[r - from] === 1))) r++;
        }
      }
      buf = out.rows;
      len = out.length;
    }
    out.length = len;
  }
  out.min = min;
  out.max = max;
  out.minPositive = minPositive;
  return out;
}

/** sparseRows' buffers (the rows with a value: their index, x and y; the rows kept of them). */
const sparse = {
  at: new Int32Array(0),
  x: new Float64Array(0),
  y: new Float64Array(0),
  rows: new RowList(),
};

/**
 * The rows of a sparse series to draw over the x range [x0, x1] drawn `columns` pixels wide: of
 * `values` (undefined: no value in that row, the line spans it; null or NaN: a gap) the rows
 * minMaxRows keeps among those with a value or a gap, as indices into `values`, ascending. (The
 * monitor's loss and accuracy charts: a training value per batch, a validation value per epoch
 * end, in rows of one x array.)
 */
export function sparseRows(
  xs: ArrayLike<number>,
  values: readonly (number | null | undefined)[],
  x0: number,
  x1: number,
  columns: number,
): number[] {
  const n = Math.min(xs.length, values.length);
  // The rows with a value or a gap, in one pass, into buffers reused from one call to the next.
  if (sparse.at.length < n) {
    const cap = Math.max(n, 2 * sparse.at.length);
    sparse.at = new Int32Array(cap);
    sparse.x = new Float64Array(cap);
    sparse.y = new Float64Array(cap);
  }
  const { at, x: cx, y: cy } = sparse;
  let count = 0;
  for (let r = 0; r < n; r++) {
    const v = values[r];
    if (v === undefined) continue;
    at[count] = r;
    cx[count] = xs[r];
    cy[count] = typeof v === 'number' ? v : NaN;
    count++;
  }
  const [from, to] = rowsInRange(cx, count, x0, x1);
  const rows = minMaxRows(cx, cy, columnLayout(cx, from, to, x0, x1, columns), sparse.rows);
  return Array.from(rows.view(), (j) => at[j]);
}

/**
 * A chart's canvas transform (device pixels): x to left + (x - x0) * sx; y to bottom - (y - y0) * sy,
 * of log10(y) on a log axis (where y <= 0 has no pixel: NaN).
 */
export interface PixelTransform {
  left: number;
  x0: number;
  sx: number;
  bottom: number;
  y0: number;
  sy: number;
  log: boolean;
}

/** The pixel row of a value (NaN: none). */
export function pixelY(t: PixelTransform, v: number): number {
  return t.log ? (v > 0 ? t.bottom - (Math.log10(v) - t.y0) * t.sy : NaN) : t.bottom - (v - t.y0) * t.sy;
}

/**
 * How far (device pixels, vertically) a path drawn from pixelPath may be from the line through
 * every row given: a quarter of a pixel, which antialiasing does not show.
 */
export const PATH_TOLERANCE_PX = 0.25;

/**
 * A polyline in device pixels: `length / 2` points (x, y) in `xy`; a point of NaN breaks the
 * line (the next one starts anew). The buffer grows by doubling and is reused.
 */
export class PixelPath {
  xy = new Float64Array(1024);
  length = 0;

  /** Makes room for `n` more numbers past `length` (the buffer doubles as needed). */
  reserve(n: number): void {
    this.xy = withRoom(this.xy, this.length, n, (size) => new Float64Array(size));
  }
}

/**
 * The polyline through the rows `rows[0..count)` of xs and ys (each a decimated line's rows, x
 * non-decreasing) in device pixels, with the points left out that the line passes within
 * `tolerance` pixels of (vertically): at every x, the path is within `tolerance` of the line
 * through every row. (A rotation curve is smooth: of 20,000 records over 800 pixel columns most
 * columns span less than a pixel, and a straight stretch is one segment; a noisy or stepped line
 * keeps each column's least and greatest value, which are further apart.) A row whose pixel is
 * NaN (no value, no x, log of 0) is a gap. One pass (a sleeve from the last point kept: the
 * slopes within `tolerance` of every point since), written to `out` (cleared first), returned.
 */
export function pixelPath(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  rows: ArrayLike<number>,
  count: number,
  t: PixelTransform,
  out: PixelPath,
  tolerance = PATH_TOLERANCE_PX,
): PixelPath {
  out.length = 0;
  // At most a point and a break a row: written in place, in the room made now.
  out.reserve(4 * count);
  const xy = out.xy;
  let len = 0;
  const { left, x0, sx, bottom, y0, sy, log } = t;
  // The last point kept (k), the last point seen (p, not written yet: pending), and the slopes
  // from k that pass within tolerance of every point between them (lo..hi); pen: a line is drawn.
  let kx = 0;
  let ky = 0;
  let px = 0;
  let py = 0;
  let pen = false;
  let pending = false;
  let lo = -Infinity;
  let hi = Infinity;
  for (let j = 0; j < count; j++) {
    const r = rows[j];
    const x = left + (xs[r] - x0) * sx;
    const v = ys[r];
    const y = log ? (v > 0 ? bottom - (Math.log10(v) - y0) * sy : NaN) : bottom - (v - y0) * sy;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      // A gap: the line so far ends at its last point; one break.
      if (pending) {
        xy[len++] = px;
        xy[len++] = py;
      }
      if (pen) {
        xy[len++] = NaN;
        xy[len++] = NaN;
      }
      pen = pending = false;
      continue;
    }
    if (!pen) {
      xy[len++] = kx = x;
      xy[len++] = ky = y;
      pen = true;
      lo = -Infinity;
      hi = Infinity;
      continue;
    }
    if (pending) {
      // Can the segment k -> (x, y) stand for the one through p as well?
      const dx = x - kx;
      const dp = px - kx;
      let a = lo;
      let b = hi;
      if (dp > 0) {
        const sa = (py - tolerance - ky) / dp;
        const sb = (py + tolerance - ky) / dp;
        if (sa > a) a = sa;
        if (sb < b) b = sb;
      } else if (py - ky > tolerance || ky - py > tolerance) b = -Infinity;
      if (dx > 0 && a <= b) {
        const s = (y - ky) / dx;
        if (s >= a && s <= b) {
          lo = a;
          hi = b;
          px = x;
          py = y;
          continue;
        }
      }
      // No: p is kept, the sleeve starts from it.
      xy[len++] = kx = px;
      xy[len++] = ky = py;
      lo = -Infinity;
      hi = Infinity;
    }
    px = x;
    py = y;
    pending = true;
  }
  if (pending) {
    xy[len++] = px;
    xy[len++] = py;
  }
  // (No break at the end.)
  if (len >= 2 && Number.isNaN(xy[len - 1])) len -= 2;
  out.length = len;
  return out;
}
