// The comparison as standalone SVG: the paper's figure (test accuracy against the final layer
// rotation, one point per run) and the rotation curves of several runs side by side.
import type { RunLog } from '../runlog/read';
import { oneLine } from '../runlog/sanitize';
import { MAX_LAYERS_DRAWN } from '../runlog/svg';
import { Decimator, esc, niceTicks } from '../runlog/svgText';
import { thinIndices } from '../runlog/thin';
import { layerColor } from '../runlog/viridis';
import type { ComparisonModel, CompareRow } from './compare';

export { Decimator } from '../runlog/svgText';

export type RotationAxis = 'min' | 'mean';

const FAILED = '#d62728';
const POINT = '#1f77b4';
/** Above this many points the labels are left to the hover titles (they would overlap). */
const MAX_LABELS = 20;

/** The least and greatest of many numbers (no spread into Math.min: a long list would overflow the stack). */
const minOf = (xs: readonly number[]) => xs.reduce((a, b) => Math.min(a, b), Infinity);
const maxOf = (xs: readonly number[]) => xs.reduce((a, b) => Math.max(a, b), -Infinity);

/** Ticks covering [lo, hi] with a little room, within bounds, that start and end on a tick. */
function axis(
  lo: number,
  hi: number,
  count: number,
  pad: number,
  bounds: [number, number],
): { min: number; max: number; ticks: number[]; step: number } {
  // Room around the points, so that none sits on the frame.
  const room = hi > lo ? (hi - lo) * 0.04 : pad;
  lo = Math.max(bounds[0], lo - room);
  hi = Math.min(bounds[1], hi + room);
  let t = niceTicks(lo, hi, count);
  const step = t.length > 1 ? t[1] - t[0] : hi - lo;
  if (t[0] > lo + 1e-9) t = [Number((t[0] - step).toFixed(10)), ...t];
  if (t[t.length - 1] < hi - 1e-9) t = [...t, Number((t[t.length - 1] + step).toFixed(10))];
  return { min: t[0], max: t[t.length - 1], ticks: t, step };
}

/** A tick's label with as many decimals as the ticks' step needs. */
function tickText(v: number, step: number): string {
  let d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  while (d < 10 && Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) > 1e-6) d++;
  return v.toFixed(d);
}

function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

/** A point's hover text: the run, its status, its differing config values, accuracy and rotation. */
function pointTitle(r: CompareRow, model: ComparisonModel): string {
  const lines = [`${r.runId} (${r.name})`, `status: ${r.status}${r.reason ? `: ${r.reason}` : ''}`];
  for (const p of model.configPaths) if (p in r.config) lines.push(`${p}: ${JSON.stringify(r.config[p])}`);
  lines.push(`test accuracy: ${r.testAccuracy === null ? 'n/a' : pct(r.testAccuracy)}`);
  lines.push(`min distance: ${r.minDistance?.toFixed(3) ?? 'n/a'}, mean: ${r.meanDistance?.toFixed(3) ?? 'n/a'}`);
  if (r.lagging.length) lines.push(`lagging: ${r.lagging.join(', ')}`);
  return lines.join('\n');
}

/** Test accuracy (y) against the final layer rotation (x: the min or mean over layers), one point per run. */
export function accuracyRotationSvg(model: ComparisonModel, x: RotationAxis = 'min', title?: string): string {
  const W = 760;
  const H = 500;
  const M = { left: 68, right: 28, top: 48, bottom: 76 };
  const xOf = (r: CompareRow) => (x === 'min' ? r.minDistance : r.meanDistance);
  const shown = model.rows.filter((r) => xOf(r) !== null && r.testAccuracy !== null);
  const hidden = model.rows.filter((r) => !shown.includes(r));
  const xs = shown.map((r) => xOf(r) as number);
  const ys = shown.map((r) => r.testAccuracy as number);
  const ax = axis(xs.length ? minOf(xs) : 0, xs.length ? maxOf(xs) : 1, 6, 0.05, [0, 2]);
  const ay = axis(ys.length ? minOf(ys) : 0, ys.length ? maxOf(ys) : 1, 5, 0.01, [0, 1]);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (v: number) => M.left + ((v - ax.min) / (ax.max - ax.min)) * pw;
  const sy = (v: number) => M.top + ph - ((v - ay.min) / (ay.max - ay.min)) * ph;
  const out: string[] = [];
  const heading = esc(title ?? `Test accuracy against layer rotation (${x} over layers)`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${heading}</title>`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="15" font-weight="bold">${heading}</text>`);
  for (const t of ay.ticks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(
      `<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${tickText(100 * t, 100 * ay.step)}%</text>`,
    );
  }
  for (const t of ax.ticks) {
    const xx = sx(t).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 18}" text-anchor="middle">${tickText(t, ax.step)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(
    `<text x="${M.left + pw / 2}" y="${M.top + ph + 40}" text-anchor="middle">final cosine distance to initialization (${x} over layers)</text>`,
  );
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">test accuracy</text>`);
  shown.forEach((r, i) => {
    const px = sx(xs[i]).toFixed(1);
    const py = sy(ys[i]).toFixed(1);
    let mark: string;
    if (r.status === 'failed')
      mark = `<path d="M${(+px - 5).toFixed(1)},${(+py - 5).toFixed(1)}l10,10m0,-10l-10,10" stroke="${FAILED}" stroke-width="2.2"/>`;
    else if (r.status === 'completed') mark = `<circle cx="${px}" cy="${py}" r="5" fill="${POINT}"/>`;
    else mark = `<circle cx="${px}" cy="${py}" r="5" fill="#ffffff" stroke="${POINT}" stroke-width="1.8"/>`;
    // Labels right of their point, or left of it in the right quarter of the plot.
    const left = +px > M.left + 0.75 * pw;
    const text = r.label.length > 28 ? `${r.label.slice(0, 27)}…` : r.label;
    const label =
      shown.length <= MAX_LABELS
        ? `<text x="${(+px + (left ? -8 : 8)).toFixed(1)}" y="${(+py - 6).toFixed(1)}" font-size="11" fill="#333"${left ? ' text-anchor="end"' : ''}>${esc(text)}</text>`
        : '';
    out.push(
      `<g class="point${r.status === 'failed' ? ' failed' : ''}" data-run="${esc(r.runId)}" data-status="${r.status}"><title>${esc(pointTitle(r, model))}</title>${mark}${label}</g>`,
    );
  });
  // The kinds of point present.
  const kinds: [string, string][] = [];
  if (shown.some((r) => r.status === 'completed'))
    kinds.push(['completed', `<circle cx="0" cy="0" r="5" fill="${POINT}"/>`]);
  if (shown.some((r) => r.status === 'stopped' || r.status === 'unfinished'))
    kinds.push([
      'stopped or unfinished',
      `<circle cx="0" cy="0" r="5" fill="#ffffff" stroke="${POINT}" stroke-width="1.8"/>`,
    ]);
  if (shown.some((r) => r.status === 'failed'))
    kinds.push(['failed', `<path d="M-5,-5l10,10m0,-10l-10,10" stroke="${FAILED}" stroke-width="2.2"/>`]);
  // Legend: in the margin above the plot, right-aligned.
  let lx = M.left + pw;
  for (const [name, shape] of [...kinds].reverse()) {
    lx -= 24 + 7 * name.length;
    const ly = M.top - 14;
    out.push(`<g class="legend" transform="translate(${lx} ${ly})">${shape}<text x="10" y="4">${name}</text></g>`);
  }
  if (hidden.length) {
    const names = hidden.map((r) => r.label).join(', ');
    out.push(
      `<text class="not-shown" x="${M.left}" y="${H - 10}" font-size="11" fill="#666">${esc(`not shown (no test accuracy or no finite distance): ${names.length > 110 ? `${names.slice(0, 109)}…` : names}`)}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The rotation curves of several runs side by side: one panel per run, shared axes, layers by depth (viridis). */
export function curvesGridSvg(
  runs: readonly { row: CompareRow; log: RunLog }[],
  title = 'Layer rotation by run',
): string {
  const cols = Math.max(1, Math.min(4, runs.length));
  const rowsN = Math.max(1, Math.ceil(runs.length / cols));
  const PW = 240;
  const PH = 160;
  const GAP = { x: 24, y: 52 };
  const M = { left: 56, top: 64, bottom: 40, right: 16 };
  const W = M.left + cols * PW + (cols - 1) * GAP.x + M.right;
  const H = M.top + rowsN * PH + (rowsN - 1) * GAP.y + M.bottom;
  let xMax = 1e-9;
  let yMax = 1;
  for (const { log } of runs) {
    const recs = log.rotations;
    if (recs.length) xMax = Math.max(xMax, recs[recs.length - 1].epoch);
    yMax = Math.max(yMax, log.started?.target ?? 1);
    for (const r of recs) for (const d of r.distances) if (typeof d === 'number' && d > yMax) yMax = d;
  }
  yMax = Math.min(2, yMax <= 1 ? 1 : Math.ceil(yMax * 10) / 10);
  const xTicks = niceTicks(0, xMax, 4);
  const yTicks = niceTicks(0, yMax, 4);
  const step = (t: number[]) => (t.length > 1 ? t[1] - t[0] : 1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`);
  out.push(
    `<text x="${M.left}" y="42" fill="#555">x: epoch; y: cosine distance to initialization (shared); colours: layer depth, first dark purple, last yellow</text>`,
  );
  runs.forEach(({ row, log }, k) => {
    const ox = M.left + (k % cols) * (PW + GAP.x);
    const oy = M.top + Math.floor(k / cols) * (PH + GAP.y);
    const sx = (v: number) => ox + (v / xMax) * PW;
    const sy = (v: number) => oy + PH - (v / yMax) * PH;
    const failed = row.status === 'failed';
    out.push(`<g class="panel${failed ? ' failed' : ''}" data-run="${esc(row.runId)}">`);
    out.push(
      `<title>${esc(`${row.runId} (${row.name}): ${row.status}${row.reason ? `: ${row.reason}` : ''}`)}</title>`,
    );
    out.push(
      `<text x="${ox}" y="${oy - 8}" font-weight="bold"${failed ? ` fill="${FAILED}"` : ''}>${esc(row.label.length > 34 ? `${row.label.slice(0, 33)}…` : row.label)}${failed ? ' (failed)' : ''}</text>`,
    );
    for (const t of yTicks) {
      out.push(`<line x1="${ox}" x2="${ox + PW}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#ececec"/>`);
      if (k % cols === 0)
        out.push(
          `<text x="${ox - 5}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${tickText(t, step(yTicks))}</text>`,
        );
    }
    for (const t of xTicks)
      out.push(
        `<text x="${sx(t).toFixed(1)}" y="${oy + PH + 14}" text-anchor="middle">${tickText(t, step(xTicks))}</text>`,
      );
    const target = log.started?.target ?? 1;
    out.push(
      `<line class="target" x1="${ox}" x2="${ox + PW}" y1="${sy(target).toFixed(1)}" y2="${sy(target).toFixed(1)}" stroke="${FAILED}" stroke-dasharray="5 3"/>`,
    );
    const layers = log.started?.layers ?? [];
    // At most MAX_LAYERS_DRAWN layers, evenly spaced by depth (as curves.svg).
    const drawn = thinIndices(layers.length, MAX_LAYERS_DRAWN);
    // Record by record (each record's distances together in memory), every layer thinned as it goes.
    const lines = drawn.map(() => new Decimator());
    for (const r of log.rotations) {
      const x = sx(r.epoch);
      for (let k = 0; k < lines.length; k++) {
        const d = r.distances[drawn[k]];
        if (typeof d === 'number' && Number.isFinite(d)) lines[k].add(x, sy(d));
      }
    }
    drawn.forEach((i, k) => {
      const points = lines[k].points();
      if (points)
        out.push(
          `<polyline class="layer" data-layer="${esc(oneLine(layers[i].name, 120))}" fill="none" stroke="${layerColor(i, layers.length)}" stroke-width="1.3" points="${points}"/>`,
        );
    });
    if (drawn.length < layers.length)
      out.push(
        `<text class="not-shown" x="${ox + PW}" y="${oy + PH + 28}" text-anchor="end" fill="#666">${drawn.length} of ${layers.length.toLocaleString('en-US')} layers drawn</text>`,
      );
    out.push(`<rect x="${ox}" y="${oy}" width="${PW}" height="${PH}" fill="none" stroke="#888"/>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
