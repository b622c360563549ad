// LineRaster (src/runlog/raster.ts): the thin lines the monitor's many-line charts draw in JS,
// read back pixel by pixel: a level line covers its row, a vertical one its rows with the ends
// by the part they cover, a gap breaks the line, opacity blends over what is drawn, nothing is
// drawn outside the buffer, and a line's ink is about its length times its width.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineRaster } from '../src/runlog/raster';
import { warmUpDrawing } from '../src/runlog/warmup';

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];

/** Points given in pixels: x as it is, y as it is. */
const PIXELS = { left: 0, x0: 0, sx: 1, bottom: 0, y0: 0, sy: -1, log: false };

/**
 * Draws the polyline of points (xy[2k], xy[2k + 1]), k < length / 2, given in pixels (a point with
 * a NaN coordinate breaks the line): strokeRows over every point, with the transform that leaves them as they are.
 */
function stroke(r: LineRaster, xy: number[], length: number, rgb: number[], alpha = 1): void {
  const n = Math.floor(length / 2);
  const xs = Float64Array.from({ length: n }, (_, k) => xy[2 * k]);
  const ys = Float64Array.from({ length: n }, (_, k) => xy[2 * k + 1]);
  r.strokeRows(
    xs,
    ys,
    Int32Array.from({ length: n }, (_, k) => k),
    n,
    PIXELS,
    rgb,
    alpha,
  );
}

/** Pixel (x, y) as [r, g, b, a]. */
function at(r: LineRaster, x: number, y: number): number[] {
  const img = r.image();
  const k = 4 * (y * r.width + x);
  return [img[k], img[k + 1], img[k + 2], img[k + 3]];
}

/** Sum of alpha / 255 over the buffer: the ink drawn, in pixels. */
function ink(r: LineRaster): number {
  const img = r.image();
  let sum = 0;
  for (let k = 3; k < img.length; k += 4) sum += img[k] / 255;
  return sum;
}

describe('LineRaster', () => {
  it('draws a level line one pixel wide on its row, opaque, between its ends', () => {
    const r = new LineRaster();
    r.reset(30, 20);
    stroke(r, [2.2, 10.5, 20.7, 10.5], 4, RED);
    for (let x = 2; x <= 20; x++) assert.deepEqual(at(r, x, 10), [255, 0, 0, 255], `column ${x}`);
    for (const x of [1, 21]) assert.equal(at(r, x, 10)[3], 0, `column ${x} is past the ends`);
    for (let x = 0; x < 30; x++) {
      assert.equal(at(r, x, 9)[3], 0);
      assert.equal(at(r, x, 11)[3], 0);
    }
  });

  it('draws a vertical segment on its column, its end rows by the part of the pixel the line covers', () => {
    const r = new LineRaster();
    r.reset(10, 20);
    stroke(r, [5.5, 3, 5.5, 12], 4, BLUE);
    // From 3 - 0.5 to 12 + 0.5: rows 2 and 12 half covered, 3 to 11 whole.
    assert.ok(Math.abs(at(r, 5, 2)[3] - 128) <= 1, `row 2: ${at(r, 5, 2)}`);
    for (let y = 3; y <= 11; y++) assert.deepEqual(at(r, 5, y), [0, 0, 255, 255], `row ${y}`);
    assert.ok(Math.abs(at(r, 5, 12)[3] - 128) <= 1, `row 12: ${at(r, 5, 12)}`);
    assert.equal(at(r, 5, 1)[3], 0);
    assert.equal(at(r, 5, 13)[3], 0);
    assert.equal(at(r, 4, 7)[3] + at(r, 6, 7)[3], 0, 'one column');
  });

  it('breaks the line at a point of NaN, and draws a point alone between gaps', () => {
    const r = new LineRaster();
    r.reset(40, 10);
    stroke(r, [1, 5.5, 10, 5.5, Number.NaN, Number.NaN, 20, 5.5, 30, 5.5, Number.NaN, 5, 35.2, 2.5], 14, RED);
    assert.equal(at(r, 5, 5)[3], 255);
    for (let x = 11; x < 20; x++) assert.equal(at(r, x, 5)[3], 0, `column ${x} is in the gap`);
    assert.equal(at(r, 25, 5)[3], 255);
    assert.equal(at(r, 35, 2)[3], 255, 'the lone point');
  });

  it('blends a line of some opacity over what is drawn (source-over)', () => {
    const r = new LineRaster();
    r.reset(10, 10);
    stroke(r, [0, 4.5, 9.9, 4.5], 4, RED);
    stroke(r, [0, 4.5, 9.9, 4.5], 4, BLUE, 0.5);
    const [red, green, blue, alpha] = at(r, 5, 4);
    assert.ok(Math.abs(red - 128) <= 2 && green === 0 && Math.abs(blue - 128) <= 2 && alpha === 255, `${at(r, 5, 4)}`);
    // On nothing: the colour itself at that opacity.
    r.reset(10, 10);
    stroke(r, [0, 4.5, 9.9, 4.5], 4, BLUE, 0.5);
    assert.deepEqual(at(r, 5, 4), [0, 0, 255, 128]);
    // Two faint lines on nothing: alpha 1 - 0.5 x 0.5, each colour by what it gives (red 0.25, blue 0.5).
    r.reset(10, 10);
    stroke(r, [0, 4.5, 9.9, 4.5], 4, RED, 0.5);
    stroke(r, [0, 4.5, 9.9, 4.5], 4, BLUE, 0.5);
    const [r2, g2, b2, a2] = at(r, 5, 4);
    assert.ok(Math.abs(a2 - 191) <= 1 && g2 === 0, `${at(r, 5, 4)}`);
    assert.ok(Math.abs(r2 - 85) <= 2 && Math.abs(b2 - 170) <= 2, `${at(r, 5, 4)}`);
    // Many faint lines of one colour: the colour stays, the alpha rises towards opaque.
    r.reset(10, 10);
    for (let k = 0; k < 40; k++) stroke(r, [0, 4.5, 9.9, 4.5], 4, [40, 120, 200], 0.28);
    const [r3, g3, b3, a3] = at(r, 5, 4);
    assert.ok(
      Math.abs(r3 - 40) <= 1 && Math.abs(g3 - 120) <= 1 && Math.abs(b3 - 200) <= 1 && a3 >= 254,
      `${at(r, 5, 4)}`,
    );
  });

  it('draws nothing outside the buffer and clears on reset', () => {
    const r = new LineRaster();
    r.reset(10, 10);
    stroke(r, [-50, -50, 60, 60, 70, -5], 6, RED);
    // The diagonal crosses the buffer corner to corner.
    for (let i = 0; i < 10; i++) assert.equal(at(r, i, i)[3], 255, `pixel ${i},${i}`);
    assert.equal(r.image().length, 4 * 10 * 10);
    r.reset(10, 10);
    assert.equal(ink(r), 0);
  });

  it("puts about a line's length of ink (one pixel wide): level and steep lines within 10%, 45 degrees within 45%", () => {
    const r = new LineRaster();
    // (A column gets the rows its centre line spans, widened by half a pixel each way: at 45
    // degrees that is 2 pixels a column where a stroke covers 1.41.)
    for (const [x0, y0, x1, y1, over] of [
      [5, 50.3, 95, 50.3, 1.1],
      [40.2, 5, 43.7, 95, 1.1],
      [10, 90, 19, 10, 1.1],
      [10, 10, 90, 90, 1.45],
    ]) {
      r.reset(100, 100);
      stroke(r, [x0, y0, x1, y1], 4, RED);
      const length = Math.hypot(x1 - x0, y1 - y0);
      const got = ink(r);
      assert.ok(
        got >= 0.9 * length && got <= over * length + 2,
        `${[x0, y0, x1, y1]}: ${got.toFixed(1)} px of ink for a length of ${length.toFixed(1)}`,
      );
    }
  });
});

describe('LineRaster.strokeRows (the rows of a decimated line, mapped to pixels as they are read)', () => {
  it('draws what the same points mapped to pixels by hand draw: a subset of rows, a log axis (a zero there: a gap), NaN a gap', () => {
    const xs = Float64Array.from({ length: 400 }, (_, i) => i / 10);
    const ys = Float64Array.from({ length: 400 }, (_, i) => 1 + Math.sin(i / 7) * 0.8);
    ys[100] = 0;
    ys.fill(Number.NaN, 140, 160);
    const rows = Int32Array.from({ length: 200 }, (_, k) => 2 * k + (k % 3 === 0 ? 1 : 0));
    for (const log of [false, true]) {
      const t = { left: 3.5, x0: 1, sx: 1.9, bottom: 47, y0: log ? -0.5 : 0, sy: log ? 60 : 20, log };
      const a = new LineRaster();
      a.reset(80, 50);
      a.strokeRows(xs, ys, rows, rows.length, t, RED, 0.7);
      const xy: number[] = [];
      for (const r of rows) {
        const v = ys[r];
        const y = log ? (v > 0 ? t.bottom - (Math.log10(v) - t.y0) * t.sy : Number.NaN) : t.bottom - (v - t.y0) * t.sy;
        xy.push(t.left + (xs[r] - t.x0) * t.sx, y);
      }
      const b = new LineRaster();
      b.reset(80, 50);
      stroke(b, xy, xy.length, RED, 0.7);
      assert.deepEqual(a.image(), b.image(), `log ${log}`);
      assert.ok(ink(a) > 60, `log ${log}: ${ink(a)} px of ink`);
      // The gap of NaN rows (140-159): the rows drawn on either side are 139 and 160 (x 13.9 and 16,
      // pixels 28.0 and 32): the columns between are blank.
      let there = 0;
      for (let x = 29; x <= 31; x++) for (let y = 0; y < 50; y++) there += at(a, x, y)[3];
      assert.equal(there, 0, `log ${log}: the gap is left blank`);
    }
  });
});

describe('warmUpDrawing (the monitor warms the drawing up while it waits for a run)', () => {
  it('decimates and draws its made-up lines across the whole buffer, the same every time', () => {
    const lines = 6;
    const columns = 300;
    const ink = warmUpDrawing(lines, 3000, columns, 100) / 255;
    // Three opaque lines, three faint ones (0.28) each under its smoothed line: at least a pixel a column each.
    assert.ok(ink >= columns * (3 + 3 * 0.28) * 0.95, `ink ${ink}`);
    assert.ok(ink <= columns * lines * 4, `ink ${ink}`);
    assert.equal(warmUpDrawing(lines, 3000, columns, 100), ink * 255);
  });
});
