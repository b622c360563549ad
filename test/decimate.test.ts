// The min/max decimation of chart lines (src/runlog/decimate.ts), against a brute-force reading
// of the same rows: per pixel column the least and greatest value kept in order, the ends kept,
// NaN gaps kept as gaps, every row kept when there are few, the extent of the range exact.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  columnLayout,
  minMaxRows,
  PATH_TOLERANCE_PX,
  PixelPath,
  type PixelTransform,
  pixelPath,
  pixelY,
  RowList,
  reserveRows,
  rowsNeeded,
  rowsInRange,
  sparseRows,
} from '../src/runlog/decimate';

function decimate(xs: number[], ys: number[], x0: number, x1: number, columns: number): number[] {
  const [from, to] = rowsInRange(xs, xs.length, x0, x1);
  return [...minMaxRows(xs, ys, columnLayout(xs, from, to, x0, x1, columns), new RowList(4)).view()];
}

/** A seeded random walk (deterministic, noisy). */
function walk(n: number, seed: number): number[] {
  let s = seed;
  let y = 0;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    y += s / 2147483648 - 0.5;
    return y;
  });
}

test('every pixel column keeps its least and greatest value, in the order they occur', () => {
  const n = 10_000;
  const xs = Array.from({ length: n }, (_, i) => i / 100);
  const ys = walk(n, 7);
  const columns = 97;
  const rows = decimate(xs, ys, 0, xs[n - 1], columns);
  assert.ok(rows.length <= 4 * columns + 2, `${rows.length} rows for ${columns} columns`);
  assert.ok(rows.length >= columns, `${rows.length} rows: at least one a column`);
  for (let j = 1; j < rows.length; j++) assert.ok(rows[j] > rows[j - 1], 'rows in increasing order');
  const col = (x: number) => Math.min(columns - 1, Math.floor((x * columns) / xs[n - 1]));
  const kept = new Set(rows);
  for (let c = 0; c < columns; c++) {
    const inCol = xs.map((_x, r) => r).filter((r) => col(xs[r]) === c);
    const lo = Math.min(...inCol.map((r) => ys[r]));
    const hi = Math.max(...inCol.map((r) => ys[r]));
    const keptHere = rows.filter((r) => col(xs[r]) === c);
    assert.ok(keptHere.length >= 1 && keptHere.length <= 4, `column ${c}: ${keptHere.length} rows kept`);
    assert.ok(
      keptHere.some((r) => ys[r] === lo),
      `column ${c}: its least value is kept`,
    );
    assert.ok(
      keptHere.some((r) => ys[r] === hi),
      `column ${c}: its greatest value is kept`,
    );
  }
  assert.ok(kept.has(0) && kept.has(n - 1), 'the first and the last row are kept');
});

test('of tied values, the first row of the least and of the greatest value is the one kept (columns of odd and even length)', () => {
  // A walk rounded to a few levels: ties everywhere, in pairs of rows and across them.
  const n = 5_000;
  const xs = Array.from({ length: n }, (_, i) => i);
  const ys = walk(n, 11).map((y) => Math.round(y / 2));
  for (const columns of [500, 417, 1250]) {
    const rows = decimate(xs, ys, 0, n - 1, columns);
    const col = (x: number) => Math.min(columns - 1, Math.floor((x * columns) / (n - 1)));
    for (let c = 0; c < columns; c++) {
      const inCol = xs.filter((x) => col(x) === c);
      if (inCol.length === 0) continue;
      const lo = Math.min(...inCol.map((r) => ys[r]));
      const hi = Math.max(...inCol.map((r) => ys[r]));
      const firstLo = inCol.find((r) => ys[r] === lo);
      const firstHi = inCol.find((r) => ys[r] === hi);
      const keptHere = rows.filter((r) => col(r) === c);
      assert.ok(
        keptHere.includes(firstLo as number),
        `${columns} columns, column ${c}: row ${firstLo} (least) in ${keptHere}`,
      );
      assert.ok(
        keptHere.includes(firstHi as number),
        `${columns} columns, column ${c}: row ${firstHi} (greatest) in ${keptHere}`,
      );
      // Nothing else but the line's first and last row.
      for (const r of keptHere) assert.ok([firstLo, firstHi, 0, n - 1].includes(r), `column ${c}: row ${r} kept`);
    }
  }
});

test('reserveRows gives the lists short of room views of one buffer, their rows kept; the decimation in them is the same', () => {
  const n = 8_000;
  const xs = Array.from({ length: n }, (_, i) => i);
  const lines = [walk(n, 3), walk(n, 4), walk(n, 5)];
  const layout = columnLayout(xs, 0, n, 0, n - 1, 300);
  const need = rowsNeeded(layout);
  assert.equal(need, 4 * layout.runs);
  const roomy = new RowList(need + 10);
  const lists = [new RowList(4), roomy, new RowList(4)];
  lists[0].push(7);
  lists[0].push(9);
  const before = roomy.rows;
  reserveRows(lists, need);
  assert.equal(roomy.rows, before, 'a list with room keeps its buffer');
  assert.equal(lists[0].rows.buffer, lists[2].rows.buffer, 'the short ones share one buffer');
  assert.ok(lists[0].rows.length >= need && lists[2].rows.length >= need);
  assert.deepEqual([...lists[0].view()], [7, 9], 'rows kept');
  lists.forEach((l, i) => {
    const own = minMaxRows(xs, lines[i], layout, new RowList(4));
    minMaxRows(xs, lines[i], layout, l);
    assert.deepEqual([...l.view()], [...own.view()], `line ${i}`);
  });
  assert.equal(lists[0].rows.buffer, lists[2].rows.buffer, 'no list grew out of its view');
});

test('the extent is that of every row within the range, not only of those kept', () => {
  const n = 5000;
  const xs = Array.from({ length: n }, (_, i) => i);
  const ys = walk(n, 3).map((y) => y / 10);
  ys[1234] = 1e-9; // the least positive value, neither least nor greatest of its column
  const [x0, x1] = [1000, 4000];
  const [from, to] = rowsInRange(xs, n, x0, x1);
  assert.deepEqual([from, to], [999, 4002], 'the range and one row on each side');
  const out = minMaxRows(xs, ys, columnLayout(xs, from, to, x0, x1, 50), new RowList());
  const inside = ys.filter((_, r) => xs[r] >= x0 && xs[r] <= x1);
  assert.equal(out.min, Math.min(...inside));
  assert.equal(out.max, Math.max(...inside));
  assert.equal(out.minPositive, Math.min(...inside.filter((y) => y > 0)));
  assert.ok(out.length < 4 * 50 + 4, `${out.length} rows kept`);
  assert.equal(out.view()[0], 999, 'the row before the range is kept (the line runs to the edge)');
  assert.equal(out.view()[out.length - 1], 4001, 'and the row after it');
});

test('NaN values stay gaps: one row of each run of them kept, the ends of stretches kept', () => {
  const n = 3000;
  const xs = Array.from({ length: n }, (_, i) => i);
  const ys = walk(n, 11);
  for (let r = 1000; r < 1100; r++) ys[r] = NaN;
  ys[2000] = NaN;
  const rows = decimate(xs, ys, 0, n - 1, 40);
  const gaps = rows.filter((r) => Number.isNaN(ys[r]));
  assert.deepEqual(gaps, [1000, 2000], 'one row of each gap');
  for (const r of [999, 1100, 1999, 2001])
    assert.ok(rows.includes(r), `row ${r}, an end of a stretch, is kept (the line stops and resumes where it does)`);
  // A row of NaN x is a gap too.
  const xs2 = xs.slice();
  xs2[1500] = NaN;
  const rows2 = decimate(xs2, walk(n, 5), 0, n - 1, 40);
  assert.ok(rows2.includes(1500) && rows2.includes(1499) && rows2.includes(1501), 'a row of no x breaks the line');
});

test('every row is kept when there are at most two a column (the line is itself)', () => {
  const n = 200;
  const xs = Array.from({ length: n }, (_, i) => i * 0.5);
  const ys = walk(n, 2);
  ys[50] = NaN;
  assert.deepEqual(
    decimate(xs, ys, 0, xs[n - 1], 100),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.ok(decimate(xs, ys, 0, xs[n - 1], 99).length < n, 'one column less: decimated');
});

test('x need only be non-decreasing: equal x values share a column; a zoom decimates its own range', () => {
  const n = 40_000;
  const xs = Array.from({ length: n }, (_, i) => Math.floor(i / 4)); // 4 rows per x
  const ys = walk(n, 9);
  const full = decimate(xs, ys, 0, xs[n - 1], 100);
  const zoomed = decimate(xs, ys, 2000, 2100, 100);
  assert.ok(full.length <= 4 * 100 + 2);
  // Zoomed to 100 x values over 100 columns: 4 rows a column, least and greatest of each kept.
  for (let x = 2000; x < 2099; x++) {
    const rs = [0, 1, 2, 3].map((k) => x * 4 + k);
    const lo = rs.reduce((a, r) => (ys[r] < ys[a] ? r : a));
    const hi = rs.reduce((a, r) => (ys[r] > ys[a] ? r : a));
    assert.ok(zoomed.includes(lo) && zoomed.includes(hi), `x ${x}: least and greatest kept`);
  }
  assert.ok(zoomed.length > 200, `the zoom shows detail: ${zoomed.length} rows`);
});

test('a sparse series (undefined: no value in the row) is decimated among its own rows, a gap kept', () => {
  const n = 20_000;
  const xs = Array.from({ length: n }, (_, i) => i / 100);
  const ys = walk(n, 5);
  // A training value in every row but each 1,000th (a validation row: undefined), one null (a gap).
  const train: (number | null | undefined)[] = ys.map((y, i) => (i % 1000 === 999 ? undefined : y));
  train[5000] = null;
  const rows = sparseRows(xs, train, 0, xs[n - 1], 100);
  assert.ok(rows.length <= 4 * 100 + 8 && rows.length > 150, `${rows.length} rows`);
  assert.ok(
    rows.every((r, j) => j === 0 || r > rows[j - 1]),
    'ascending',
  );
  assert.ok(
    rows.every((r) => train[r] !== undefined),
    'only rows with a value or a gap',
  );
  assert.ok(rows.includes(5000), 'the gap kept');
  assert.deepEqual(
    [rows[0], rows[rows.length - 1]],
    [0, n - 2],
    'the first and the last row with a value (row n - 1 has none)',
  );
  // Each column's least and greatest value kept: the decimated line reaches the same extremes.
  const vals = (rs: number[]) => rs.map((r) => train[r]).filter((v): v is number => typeof v === 'number');
  assert.equal(Math.min(...vals(rows)), Math.min(...vals(train.map((_, i) => i))));
  assert.equal(Math.max(...vals(rows)), Math.max(...vals(train.map((_, i) => i))));
  // Few rows: every one.
  const few = [1, undefined, 3, null, 5];
  assert.deepEqual(sparseRows([0, 1, 2, 3, 4], few, 0, 4, 100), [0, 2, 3, 4]);
});

test('a column without NaN (one pass) keeps what the stretch-by-stretch reading keeps, infinities included', () => {
  // Brute force: per column the first least and the first greatest value, the line's first and last row.
  const n = 5000;
  const columns = 61;
  const xs = Array.from({ length: n }, (_, i) => i / 10);
  const ys = walk(n, 11).map((y, r) => (r % 997 === 5 ? Infinity : r % 1301 === 9 ? -Infinity : y));
  const col = (x: number) => Math.min(columns - 1, Math.floor((x * columns) / xs[n - 1]));
  const expected = new Set([0, n - 1]);
  for (let c = 0; c < columns; c++) {
    const inCol = xs.map((_x, r) => r).filter((r) => col(xs[r]) === c);
    let lo = inCol[0];
    let hi = inCol[0];
    for (const r of inCol) {
      if (ys[r] < ys[lo]) lo = r;
      if (ys[r] > ys[hi]) hi = r;
    }
    expected.add(lo).add(hi);
  }
  const out = new RowList(4);
  const rows = [...minMaxRows(xs, ys, columnLayout(xs, 0, n, 0, xs[n - 1], columns), out).view()];
  assert.deepEqual(
    rows,
    [...expected].sort((a, b) => a - b),
  );
  // The extent counts finite values only.
  const finite = ys.filter(Number.isFinite);
  assert.equal(out.min, Math.min(...finite));
  assert.equal(out.max, Math.max(...finite));
  // A NaN in one column: that column read stretch by stretch, the others as before.
  const gapped = [...ys];
  gapped[2500] = NaN;
  const withGap = decimate(xs, gapped, 0, xs[n - 1], columns);
  assert.ok(withGap.includes(2500), 'the gap is kept');
  const other = (r: number) => col(xs[r]) !== col(xs[2500]);
  assert.deepEqual(withGap.filter(other), rows.filter(other));
});

test('columns read stretch by stretch (many gaps) leave room for the next ones: no row of a column after them is lost', () => {
  // Every even column has three single-row gaps (up to a dozen rows kept there, more than the four
  // a column without NaN keeps); every odd column keeps its first least and first greatest value.
  const n = 6000;
  const columns = 100;
  const per = n / columns;
  const xs = Array.from({ length: n }, (_, i) => i);
  const col = (r: number) => Math.min(columns - 1, Math.floor((xs[r] * columns) / xs[n - 1]));
  const ys = walk(n, 5).map((y, r) => (col(r) % 2 === 0 && [7, 23, 41].includes(r % per) ? NaN : y));
  const out = new RowList(4);
  const rows = [...minMaxRows(xs, ys, columnLayout(xs, 0, n, 0, xs[n - 1], columns), out).view()];
  assert.ok(rows.length > 4 * columns, `${rows.length} rows kept`);
  assert.deepEqual(
    rows,
    [...rows].sort((a, b) => a - b),
    'in row order',
  );
  for (let c = 1; c < columns; c += 2) {
    const inCol = xs.map((_x, r) => r).filter((r) => col(r) === c);
    let lo = inCol[0];
    let hi = inCol[0];
    for (const r of inCol) {
      if (ys[r] < ys[lo]) lo = r;
      if (ys[r] > ys[hi]) hi = r;
    }
    const kept = rows.filter((r) => col(r) === c);
    assert.ok(kept.includes(lo) && kept.includes(hi), `column ${c}: ${kept} has ${lo} and ${hi}`);
    assert.ok(
      kept.every((r) => r === lo || r === hi || r === inCol[0] || r === inCol[inCol.length - 1]),
      `column ${c}: ${kept}`,
    );
  }
});

// ---- pixelPath: the decimated rows as a pixel polyline, the points it passes within a fraction of a pixel of left out ----

/** The stretches (unbroken lines) of a path as lists of [x, y]. */
function stretches(p: PixelPath): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (let j = 0; j < p.length; j += 2) {
    if (Number.isNaN(p.xy[j])) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push([p.xy[j], p.xy[j + 1]]);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Every point of the line through the rows (none left out), in stretches: the reference. */
function fullPath(xs: number[], ys: number[], rows: ArrayLike<number>, t: PixelTransform): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (let j = 0; j < rows.length; j++) {
    const x = t.left + (xs[rows[j]] - t.x0) * t.sx;
    const y = pixelY(t, ys[rows[j]]);
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (cur.length) out.push(cur);
      cur = [];
    } else cur.push([x, y]);
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The y values a polyline takes at x (its segments over x, a vertical one whole): [least, greatest], or null off its ends. */
function yAt(line: [number, number][], x: number): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  const see = (y: number) => {
    lo = Math.min(lo, y);
    hi = Math.max(hi, y);
  };
  if (line.length === 1 && line[0][0] === x) see(line[0][1]);
  for (let k = 1; k < line.length; k++) {
    const [xa, ya] = line[k - 1];
    const [xb, yb] = line[k];
    if (x < xa || x > xb) continue;
    if (xb === xa) {
      see(ya);
      see(yb);
    } else see(ya + ((yb - ya) * (x - xa)) / (xb - xa));
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The greatest vertical distance, at any point of either, from one line to the other. */
function gap(a: [number, number][], b: [number, number][]): number {
  let worst = 0;
  for (const [p, q] of [
    [a, b],
    [b, a],
  ])
    for (const [x, y] of p) {
      const r = yAt(q, x);
      assert.ok(r, `x ${x} is on one line and off the other`);
      worst = Math.max(worst, y < r[0] ? r[0] - y : y > r[1] ? y - r[1] : 0);
    }
  return worst;
}

/** The decimated rows of a line over `columns` columns, the full path through them and the path drawn. */
function drawn(xs: number[], ys: number[], columns: number, t: PixelTransform) {
  const rows = decimate(xs, ys, xs[0], xs[xs.length - 1], columns);
  const path = pixelPath(xs, ys, Int32Array.from(rows), rows.length, t, new PixelPath());
  return { rows, full: fullPath(xs, ys, rows, t), thin: stretches(path), points: path.length / 2 };
}

/** A transform of the x range [0, xEnd] onto `width` pixels and y [y0, y1] onto 400. */
function transform(xEnd: number, width: number, y0: number, y1: number, log = false): PixelTransform {
  const v0 = log ? Math.log10(y0) : y0;
  const v1 = log ? Math.log10(y1) : y1;
  return { left: 40, x0: 0, sx: width / xEnd, bottom: 410, y0: v0, sy: 400 / (v1 - v0), log };
}

test('pixelPath: a smooth curve of 20,000 records over 800 columns is drawn with far fewer points, within a quarter pixel', () => {
  const n = 20_000;
  const xs = Array.from({ length: n }, (_, i) => (i + 1) / 1000);
  // A cosine distance rising to a plateau, as a layer's does.
  const ys = xs.map((x) => 0.9 * (1 - Math.exp(-x / 4)) + 0.02 * Math.sin(x));
  const { rows, full, thin, points } = drawn(xs, ys, 800, transform(20, 800, 0, 1));
  assert.equal(thin.length, 1);
  assert.ok(points < rows.length / 4, `${points} points drawn of ${rows.length} rows`);
  // Its ends are the line's.
  assert.deepEqual(thin[0][0], full[0][0]);
  assert.deepEqual(thin[0][thin[0].length - 1], full[0][full[0].length - 1]);
  const d = gap(full[0], thin[0]);
  assert.ok(d <= PATH_TOLERANCE_PX + 1e-9, `${d} px from the full path`);
});

test('pixelPath: a noisy line and a stepped one keep each column’s extremes (within a quarter pixel), a log axis too', () => {
  const n = 20_000;
  const xs = Array.from({ length: n }, (_, i) => (i + 1) / 1000);
  const noisy = walk(n, 11).map((y) => 0.5 + y / 200);
  const stepped = xs.map((x) => 0.1 + 0.05 * Math.floor(x / 1.5));
  const lo = Math.min(...noisy);
  const hi = Math.max(...noisy);
  for (const [name, ys, t] of [
    ['noisy', noisy, transform(20, 800, lo, hi)],
    ['stepped', stepped, transform(20, 800, 0, 1)],
    ['noisy on a log axis', noisy, transform(20, 800, lo, hi, true)],
  ] as const) {
    const { rows, full, thin, points } = drawn(xs, ys as number[], 800, t);
    assert.equal(thin.length, 1, name);
    const d = gap(full[0], thin[0]);
    assert.ok(d <= PATH_TOLERANCE_PX + 1e-9, `${name}: ${d} px from the full path`);
    // Each column's least and greatest value: the path drawn reaches it (within the tolerance).
    for (const r of rows) {
      const x = t.left + (xs[r] - t.x0) * t.sx;
      const at = yAt(thin[0], x) as [number, number];
      const y = pixelY(t, ys[r]);
      assert.ok(y >= at[0] - PATH_TOLERANCE_PX - 1e-9 && y <= at[1] + PATH_TOLERANCE_PX + 1e-9, `${name}: row ${r}`);
    }
    if (name === 'noisy') assert.ok(points > 800, `${name}: ${points} points: the noise is kept`);
    if (name === 'stepped') assert.ok(points < 100, `${name}: ${points} points for 14 steps`);
  }
});

test('pixelPath: NaN values, NaN x and a log axis’s zeros break the line where the full path breaks', () => {
  const n = 5000;
  const xs = Array.from({ length: n }, (_, i) => (i + 1) / 100);
  const ys = xs.map((x) => 0.5 + 0.3 * Math.sin(x / 5));
  for (let r = 1000; r < 1010; r++) ys[r] = NaN;
  for (let r = 3000; r < 3040; r++) ys[r] = 0;
  xs[4000] = NaN;
  for (const log of [false, true]) {
    const t = transform(50, 300, 0.1, 1, log);
    const [from, to] = rowsInRange(xs, n, 0, 50);
    const rows = [...minMaxRows(xs, ys, columnLayout(xs, from, to, 0, 50, 300), new RowList()).view()];
    const path = pixelPath(xs, ys, Int32Array.from(rows), rows.length, t, new PixelPath());
    const full = fullPath(xs, ys, rows, t);
    const thin = stretches(path);
    assert.equal(thin.length, full.length, `log ${log}: stretches`);
    assert.equal(full.length, log ? 4 : 3);
    for (let k = 0; k < full.length; k++) {
      assert.deepEqual(thin[k][0], full[k][0]);
      assert.deepEqual(thin[k][thin[k].length - 1], full[k][full[k].length - 1]);
      const d = gap(full[k], thin[k]);
      assert.ok(d <= PATH_TOLERANCE_PX + 1e-9, `log ${log}, stretch ${k}: ${d} px`);
    }
    // No break at the start or the end, none twice.
    assert.ok(!Number.isNaN(path.xy[0]) && !Number.isNaN(path.xy[path.length - 2]));
  }
});
