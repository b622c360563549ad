/**
 * The drawing's hot loops run once on a small made-up chart, so that V8 has compiled them for
 * speed before a big run's first draw needs them. V8 runs a function slowly (interpreted, then
 * lightly compiled) until it has run hot; the first draw of 200 layers x 20,000 records spent
 * most of its min/max pass and of its raster in that slow start (measured in the monitor:
 * bench/webview-render.mjs --profile). The monitor calls this while it waits for its first run.
 * The same functions, the same argument types as the charts' (Float64Array columns of distances
 * and their Float32Array smoothed, RowList rows, a LineRaster), so that what V8
 * learns here holds there. What the compiled code assumes of the objects it reads must hold
 * too, or V8 throws the code away at the first draw and compiles it again (measured in Node:
 * the first big min/max pass 30-38 ms against 9-10 ms once compiled again): a layout is made
 * several times (V8 makes an object literal's template, and widens what it knows of the fields,
 * at the second time a literal is made), of fractional x ranges (a field that held only small
 * integers is assumed to; an x range, a transform, mostly hold fractions), one with a gap in x.
 */
import { Ema } from './chartMath';
import { columnLayout, minMaxRows, RowList } from './decimate';
import { LineRaster } from './raster';

/**
 * What the warm-up made, kept: V8's compiled code refers weakly to the shapes (maps) of the
 * objects it has seen, and drops the code when the last object of a shape is collected, which
 * would happen between the warm-up and the first draw (measured in Node: the raster compiled
 * again during the first big draw). The charts make theirs, of the same shapes, only when they draw.
 */
const kept: { objects: unknown } = { objects: null };

/**
 * Decimates `lines` made-up lines of `points` records to `columns` pixel columns and draws them
 * in a LineRaster `height` pixels high; returns the ink drawn (the sum of the pixels' alpha), a
 * result the caller may check and the compiler cannot drop.
 */
export function warmUpDrawing(lines = 16, points = 6000, columns = 500, height = 160): number {
  const xs = new Float64Array(points);
  for (let r = 0; r < points; r++) xs[r] = r + 0.5;
  const ys = new Float64Array(points);
  const smoothed = new Float32Array(points);
  const rows = new RowList();
  const raster = new LineRaster();
  raster.reset(columns, height);
  const t = { left: 0.5, x0: 0.25, sx: columns / points, bottom: height - 0.5, y0: 0.25, sy: height / 1.2, log: false };
  let seed = 1;
  for (let k = 0; k < lines; k++) {
    // A rising curve with noise (xorshift: the same every time), as a layer's distance.
    for (let r = 0; r < points; r++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      ys[r] = (r / points) * (0.5 + k / (2 * lines)) + ((seed >>> 0) / 4294967296 - 0.5) * 0.02;
    }
    // A layout a line (the first with a row of no x: a gap), over fractional ranges, as the charts'.
    const gap = k === 0 ? points >> 1 : -1;
    if (gap >= 0) xs[gap] = Number.NaN;
    const layout = columnLayout(xs, 0, points, 0.25 + (k % 3) * 0.125, points - 0.75, columns);
    // Every other line smoothed (a chart's smoothed lines: Float32Array) over a faint raw one.
    const smooth = k % 2 === 1;
    if (smooth) new Ema(0.6).run(ys, smoothed, 0, points);
    minMaxRows(xs, ys, layout, rows);
    raster.strokeRows(xs, ys, rows.rows, rows.length, t, [40 + 10 * k, 120, 200], smooth ? 0.28 : 1, 1);
    if (smooth) {
      minMaxRows(xs, smoothed, layout, rows);
      raster.strokeRows(xs, smoothed, rows.rows, rows.length, t, [40 + 10 * k, 120, 200], 1, 1);
    }
    if (gap >= 0) xs[gap] = gap + 0.5;
  }
  const image = raster.image();
  let ink = 0;
  for (let i = 3; i < image.length; i += 4) ink += image[i];
  raster.reset(1, 1);
  kept.objects = {
    t,
    local: { ...t, left: 0, bottom: height },
    raster,
    rows,
    ema: new Ema(0.6),
    layout: columnLayout(xs, 0, 1, 0, 1, 1),
  };
  return ink;
}
