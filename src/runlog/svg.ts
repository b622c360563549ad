// The layer rotation curves of a run as a standalone SVG: x in epochs, y the cosine distance
// from 0 to 1 (further only if a layer goes there), one line per layer coloured by depth with
// viridis, and the target drawn as a dashed line. Bounded whatever the log: at most MAX_LAYERS_DRAWN
// lines (evenly spaced by depth, the SVG says so), each thinned to the plot's width.
import { thinIndices } from './thin';
import { MAX_LAYERS_DRAWN } from './layerCap';
import { oneLine } from './sanitize';
import { Decimator, esc, fmt, ticks } from './svgText';
import { layerColor } from './viridis';
import type { RunLog } from './read';

const W = 860;
const H = 480;
const M = { left: 56, right: 190, top: 40, bottom: 48 };
/** Layers drawn at most (src/runlog/layerCap.ts): a run of more shows evenly spaced ones (the first and the last among them). */
export { MAX_LAYERS_DRAWN };
/** Up to this many records every point is drawn (as python/layer_rotation/svg.py draws them); beyond, thinned to the width. */
const MAX_EXACT_RECORDS = 2000;
/** Characters of a name shown (a legend entry, an attribute). */
const MAX_NAME = 120;

export { esc, fmt, niceTicks, ticks } from './svgText';

export function rotationCurvesSvg(log: RunLog, title?: string): string {
  const layers = log.started?.layers ?? [];
  const recs = log.rotations;
  const target = log.started?.target ?? 1;
  const xMax = Math.max(recs.length ? recs[recs.length - 1].epoch : 0, 1e-9);
  let yMax = Math.max(1, target);
  for (const r of recs) for (const d of r.distances) if (typeof d === 'number' && d > yMax) yMax = d;
  yMax = Math.min(2, yMax <= 1 ? 1 : Math.ceil(yMax * 10) / 10);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + (x / xMax) * pw;
  const sy = (y: number) => M.top + ph - (y / yMax) * ph;
  const out: string[] = [];
  const heading = esc(oneLine(title ?? `Layer rotation: ${log.started?.name ?? 'run'}`, MAX_NAME));
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${heading}</title>`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${M.left}" y="22" font-size="15" font-weight="bold">${heading}</text>`);
  for (const t of ticks(yMax, 5)) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e4e4e4"/>`,
    );
    out.push(`<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of ticks(xMax, 6)) {
    out.push(`<text x="${sx(t).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`);
  out.push(
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">cosine distance to initialization</text>`,
  );
  out.push(
    `<line class="target" x1="${M.left}" x2="${M.left + pw}" y1="${sy(target).toFixed(1)}" y2="${sy(target).toFixed(1)}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>`,
  );
  const drawn = thinIndices(layers.length, MAX_LAYERS_DRAWN);
  // Record by record, every drawn layer thinned as it goes once there are more records than pixels.
  const lines = drawn.map(() => (recs.length <= MAX_EXACT_RECORDS ? new AllPoints() : new Decimator()));
  for (const r of recs) {
    const x = sx(r.epoch);
    drawn.forEach((i, k) => {
      const d = r.distances[i];
      if (typeof d === 'number' && Number.isFinite(d)) lines[k].add(x, sy(d));
    });
  }
  drawn.forEach((i, k) => {
    const points = lines[k].points();
    if (points)
      out.push(
        `<polyline class="layer" data-layer="${esc(oneLine(layers[i].name, MAX_NAME))}" fill="none" stroke="${layerColor(i, layers.length)}" stroke-width="1.6" points="${points}"/>`,
      );
  });
  if (drawn.length < layers.length)
    out.push(
      `<text class="not-shown" x="${M.left + pw}" y="22" text-anchor="end" fill="#666">${drawn.length} of ${layers.length.toLocaleString('en-US')} layers drawn, evenly spaced by depth</text>`,
    );
  // Legend: every layer when they fit, else the first, last and evenly spaced ones between.
  const maxRows = Math.floor(ph / 16);
  const shown = thinIndices(layers.length, maxRows);
  shown.forEach((i, row) => {
    const y = M.top + 8 + row * 16;
    const x = M.left + pw + 14;
    out.push(
      `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${layerColor(i, layers.length)}" stroke-width="3"/>`,
    );
    out.push(`<text x="${x + 24}" y="${y + 4}">${esc(oneLine(layers[i].name, MAX_NAME))}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Every point of a line, as given. */
class AllPoints {
  private readonly pts: string[] = [];
  add(x: number, y: number): void {
    this.pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  }
  points(): string {
    return this.pts.join(' ');
  }
}
