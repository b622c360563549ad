// The layer rotation curves of a run as a standalone SVG: x in epochs, y the cosine distance
// from 0 to 1 (further only if a layer goes there), one line per layer coloured by depth with
// viridis, and the target drawn as a dashed line.
import { esc, fmt, ticks } from './svgText';
import { layerColor } from './viridis';
import type { RunLog } from './read';

const W = 860;
const H = 480;
const M = { left: 56, right: 190, top: 40, bottom: 48 };

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
  const heading = esc(title ?? `Layer rotation: ${log.started?.name ?? 'run'}`);
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
  layers.forEach((layer, i) => {
    const pts: string[] = [];
    for (const r of recs) {
      const d = r.distances[i];
      if (typeof d === 'number' && Number.isFinite(d)) pts.push(`${sx(r.epoch).toFixed(1)},${sy(d).toFixed(1)}`);
    }
    if (pts.length) {
      out.push(
        `<polyline class="layer" data-layer="${esc(layer.name)}" fill="none" stroke="${layerColor(i, layers.length)}" stroke-width="1.6" points="${pts.join(' ')}"/>`,
      );
    }
  });
  // Legend: every layer when they fit, else the first, last and evenly spaced ones between.
  const maxRows = Math.floor(ph / 16);
  const shown =
    layers.length <= maxRows
      ? layers.map((_, i) => i)
      : Array.from({ length: maxRows }, (_, k) => Math.round((k * (layers.length - 1)) / (maxRows - 1)));
  shown.forEach((i, row) => {
    const y = M.top + 8 + row * 16;
    const x = M.left + pw + 14;
    out.push(
      `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${layerColor(i, layers.length)}" stroke-width="3"/>`,
    );
    out.push(`<text x="${x + 24}" y="${y + 4}">${esc(layers[i].name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
