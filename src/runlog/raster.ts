// Thin polylines rasterized column by column in JS: the monitor's many-line charts (more than 50
// lines, each one device pixel wide) draw their decimated lines here and put the pixels on the
// canvas in one drawImage, where a software canvas spends most of a first draw stroking (200
// lines of ~1,800 points: ~45 ms of Skia's antialiased strokes in the frame and after it, against
// ~25 ms here, JIT warm-up included). A line of width w covers, in each pixel column its centre
// line crosses, the rows from the least to the greatest y the centre line reaches within that
// column, widened by w/2 above and below; the end rows get the part of the pixel they cover
// (antialiased vertically; horizontally each column is the centre line's, so w is meant to be
// about 1). That is what a stroked one-pixel line covers, with edges a little less soft and a
// little more ink on slopes (at 45 degrees 2 pixels a column against 1.41). Pixels are kept
// column by column (a column's rows adjacent in memory, as they are drawn) and laid out in rows,
// as ImageData holds them, by image(). Pure: imports a type only (decimate.ts's pixel transform).

import type { PixelTransform } from './decimate';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** No column gathered. */
const NONE = -1e9;

/** The opacity of a pixel covered `cover` (0-1) by a line of opacity `alpha`, in 256ths. */
function a8(cover: number, alpha: number): number {
  return (cover * alpha * 256 + 0.5) | 0;
}

/**
 * Source-over of `color` (0xBBGGRR) at opacity a / 256 (0-256) on pixel i of px, premultiplied
 * (each channel times the pixel's alpha): out = colour x a + what is there x (1 - a), the four
 * channels two at a time, in integers, with no division and no branch on what is there.
 * (Integers only: a double passed to a call is boxed.)
 */
function blend(px: Int32Array, i: number, color: number, a: number): void {
  if (a <= 0) return;
  if (a >= 256) {
    px[i] = 0xff000000 | color;
    return;
  }
  const d = px[i];
  const ia = 256 - a;
  // Red and blue; then green and alpha (the colour's alpha is 255); rounded (+128 each). A
  // channel's sum is at most 255 x 256 + 128 < 2^16: no carry into the next, the whole under 2^32.
  const rb = (((color & 0xff00ff) * a + (d & 0xff00ff) * ia + 0x800080) >>> 8) & 0xff00ff;
  const ga = (((((color >>> 8) & 0xff) | 0xff0000) * a + ((d >>> 8) & 0xff00ff) * ia + 0x800080) >>> 8) & 0xff00ff;
  px[i] = rb | (ga << 8);
}

/** 255 x 2^16 / a: a premultiplied channel times this, over 2^16, is the plain channel. */
const UNPREMULTIPLY = Array.from({ length: 256 }, (_, a) => (a === 0 ? 0 : Math.round((255 * 65536) / a)));

/**
 * A premultiplied pixel (0xAABBGGRR) made plain. (A function of the module, not made at each call
 * of image(): V8 compiles a call for the one function it has seen there, and would throw that
 * code away at the next image() of a new closure.)
 */
function plain(v: number): number {
  const a = v >>> 24;
  if (a === 255 || a === 0) return v;
  const k = UNPREMULTIPLY[a];
  const r = Math.min(255, ((v & 255) * k + 32768) >>> 16);
  const g = Math.min(255, (((v >>> 8) & 255) * k + 32768) >>> 16);
  const b = Math.min(255, (((v >>> 16) & 255) * k + 32768) >>> 16);
  return (a << 24) | (b << 16) | (g << 8) | r;
}

/** A `width` x `height` pixel buffer that thin lines are drawn in. */
export class LineRaster {
  width = 0;
  height = 0;
  /** The pixels, column by column: 0xAABBGGRR, premultiplied (image() gives them plain). */
  private px = new Int32Array(0);
  private rgba: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(0);
  /** A line's columns, gathered before any is drawn: column, least y, greatest y. */
  private cols = new Float64Array(3 * 256);

  /** Sizes the buffer (whole pixels) and clears it to transparent. */
  reset(width: number, height: number): void {
    const w = Math.max(0, Math.floor(width));
    const h = Math.max(0, Math.floor(height));
    if (w * h !== this.px.length) {
      this.px = new Int32Array(w * h);
      this.rgba = new Uint8ClampedArray(4 * w * h);
    } else this.px.fill(0);
    this.width = w;
    this.height = h;
  }

  /**
   * Draws the line through the rows rows[0..count) of xs and ys (a decimated line's rows, x
   * non-decreasing), mapped to pixels by `t` from the buffer's top left corner: x to
   * left + (x - x0) sx, y to bottom - (y - y0) sy (of log10 y on a log axis, where y <= 0 has no
   * pixel); a row without a pixel (NaN) breaks the line. `lineWidth` pixels wide, in the colour
   * [r, g, b] (0-255) at opacity `alpha`, over what is drawn already (source-over). The rows are
   * mapped as they are read: no polyline in between.
   */
  strokeRows(
    xs: ArrayLike<number>,
    ys: ArrayLike<number>,
    rows: ArrayLike<number>,
    count: number,
    t: PixelTransform,
    rgb: readonly number[],
    alpha = 1,
    lineWidth = 1,
  ): void {
    const n = this.columns(xs, ys, rows, count, t);
    const color = ((rgb[2] & 255) << 16) | ((rgb[1] & 255) << 8) | (rgb[0] & 255);
    const opacity = Math.min(1, Math.max(0, alpha));
    const half = Math.max(0, lineWidth) / 2;
    const { px, width, height: h, cols } = this;
    const opaque = 0xff000000 | color;
    const inner = a8(1, opacity);
    for (let k = 0; k < 3 * n; k += 3) {
      // The column's rows from lo - w/2 to hi + w/2: those between whole, the end rows by the part they cover.
      const c = cols[k];
      if (!(c >= 0 && c < width)) continue;
      const top = Math.max(0, cols[k + 1] - half);
      const bottom = Math.min(h, cols[k + 2] + half);
      if (!(bottom > top)) continue;
      const first = Math.floor(top);
      const last = Math.min(h - 1, Math.ceil(bottom) - 1);
      const base = c * h;
      if (first === last) {
        blend(px, base + first, color, a8(bottom - top, opacity));
        continue;
      }
      blend(px, base + first, color, a8(first + 1 - top, opacity));
      if (inner >= 256) for (let i = base + first + 1; i < base + last; i++) px[i] = opaque;
      else for (let i = base + first + 1; i < base + last; i++) blend(px, i, color, inner);
      blend(px, base + last, color, a8(bottom - last, opacity));
    }
  }

  /**
   * The columns the line through the rows crosses (strokeRows), in the order it crosses them,
   * each with the least and the greatest y its centre line reaches there, into `cols`; returns
   * how many. (A point alone between gaps is a column of its own: it is a record.)
   */
  private columns(
    xs: ArrayLike<number>,
    ys: ArrayLike<number>,
    rows: ArrayLike<number>,
    count: number,
    t: PixelTransform,
  ): number {
    const { left, x0, sx, bottom, y0, sy, log } = t;
    let cols: Float64Array = this.cols;
    let n = 0;
    // The column being gathered (NONE: none since a gap), which the line goes on extending, with
    // the least and greatest y reached in it so far; written to `cols` when the line leaves it.
    let col = NONE;
    let lo = 0;
    let hi = 0;
    let px = Number.NaN;
    let py = Number.NaN;
    for (let j = 0; j < count; j++) {
      const r = rows[j];
      const x = left + (xs[r] - x0) * sx;
      const v = ys[r];
      const y = log ? (v > 0 ? bottom - (Math.log10(v) - y0) * sy : Number.NaN) : bottom - (v - y0) * sy;
      if (Number.isNaN(x) || Number.isNaN(y)) {
        if (col !== NONE) {
          n = this.close(n, col, lo, hi);
          cols = this.cols;
        }
        px = py = Number.NaN;
        col = NONE;
        continue;
      }
      const cb = Math.floor(x);
      if (cb === col) {
        // Within the column of the last point (most rows of a decimated line: a few to a column).
        if (y < lo) lo = y;
        else if (y > hi) hi = y;
      } else if (cb > col && col !== NONE) {
        // On to a later column (the other rows of a decimated line): the segment leaves the
        // column being gathered (the last point's) at its right edge, crosses those between
        // whole, and the new column starts where it enters.
        if (3 * (n + cb - col) > cols.length) cols = this.grow(cols, 3 * (n + cb - col));
        const slope = (y - py) / (x - px);
        let yb = py + (col + 1 - px) * slope;
        if (yb < lo) lo = yb;
        else if (yb > hi) hi = yb;
        cols[3 * n] = col;
        cols[3 * n + 1] = lo;
        cols[3 * n + 2] = hi;
        n++;
        for (let c = col + 1; c < cb; c++) {
          const ya = yb;
          yb = py + (c + 1 - px) * slope;
          cols[3 * n] = c;
          cols[3 * n + 1] = ya < yb ? ya : yb;
          cols[3 * n + 2] = ya < yb ? yb : ya;
          n++;
        }
        col = cb;
        lo = yb < y ? yb : y;
        hi = yb < y ? y : yb;
      } else {
        // The segment from (px, py) to (x, y), column by column (a line's first point, or x
        // going back); its first column may be the one being gathered. A line's first point: a
        // segment of no length, where it starts.
        if (Number.isNaN(px)) {
          px = x;
          py = y;
        }
        const ca = Math.floor(px);
        const slope = ca === cb ? 0 : (y - py) / (x - px);
        const step = cb >= ca ? 1 : -1;
        // Room for every column the segment leaves (at most one each), with none to check below.
        if (3 * (n + Math.abs(cb - ca) + 1) > cols.length) cols = this.grow(cols, 3 * (n + Math.abs(cb - ca) + 1));
        let yIn = py;
        for (let c = ca; ; c += step) {
          const end = c === cb;
          const yOut = end ? y : py + ((step > 0 ? c + 1 : c) - px) * slope;
          const a = yIn < yOut ? yIn : yOut;
          const b = yIn < yOut ? yOut : yIn;
          if (c === col) {
            if (a < lo) lo = a;
            if (b > hi) hi = b;
          } else {
            if (col !== NONE) {
              cols[3 * n] = col;
              cols[3 * n + 1] = lo;
              cols[3 * n + 2] = hi;
              n++;
            }
            col = c;
            lo = a;
            hi = b;
          }
          if (end) break;
          yIn = yOut;
        }
      }
      px = x;
      py = y;
    }
    return col === NONE ? n : this.close(n, col, lo, hi);
  }

  /** Writes column `col` (least y `lo`, greatest `hi`) as the n-th gathered (room made); returns n + 1. */
  private close(n: number, col: number, lo: number, hi: number): number {
    let cols: Float64Array = this.cols;
    if (3 * n + 3 > cols.length) cols = this.grow(cols, 3 * n + 3);
    cols[3 * n] = col;
    cols[3 * n + 1] = lo;
    cols[3 * n + 2] = hi;
    return n + 1;
  }

  /** `cols` with room for `size` numbers (doubling), the columns gathered copied over. */
  private grow(cols: Float64Array, size: number): Float64Array<ArrayBuffer> {
    let cap = 2 * cols.length;
    while (cap < size) cap *= 2;
    const next = new Float64Array(cap);
    next.set(cols);
    this.cols = next;
    return next;
  }

  /** The pixels row by row, RGBA (not premultiplied), as ImageData takes them (valid until the next reset). */
  image(): Uint8ClampedArray<ArrayBuffer> {
    const { width: w, height: h, px, rgba } = this;
    if (LITTLE_ENDIAN) {
      const out = new Int32Array(rgba.buffer, 0, w * h);
      for (let c = 0; c < w; c++) {
        const base = c * h;
        for (let r = 0; r < h; r++) out[r * w + c] = plain(px[base + r]);
      }
    } else
      for (let c = 0; c < w; c++)
        for (let r = 0; r < h; r++) {
          const v = plain(px[c * h + r]);
          const k = 4 * (r * w + c);
          rgba[k] = v & 255;
          rgba[k + 1] = (v >> 8) & 255;
          rgba[k + 2] = (v >> 16) & 255;
          rgba[k + 3] = v >>> 24;
        }
    return rgba;
  }
}
