// The paper's figure in the tab: test accuracy against the final rotation (min or mean over
// layers), one point per run, failed runs as red crosses; hovering a point names its run. Plain
// SVG with colours written as attributes (from the theme), so that it serializes to a PNG as shown.
import type { ComparisonModel, CompareRow, RotationAxis } from '../compareProtocol';
import { axisTicks, rotationOf, tickLabel } from './format';

const NS = 'http://www.w3.org/2000/svg';

export interface FigureColors {
  fg: string;
  grid: string;
  point: string;
  failed: string;
  background: string;
}

function svgEl<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** Draws the figure into `host` (replacing it); returns the SVG and the rows drawn as points. */
export function drawFigure(
  host: HTMLElement,
  model: ComparisonModel,
  x: RotationAxis,
  colors: FigureColors,
  onHover: (row: CompareRow | null, at: { x: number; y: number }) => void,
): { svg: SVGSVGElement; shown: CompareRow[]; hidden: CompareRow[] } {
  const W = Math.max(360, Math.min(760, host.clientWidth || 640));
  const H = Math.round(W * 0.6);
  const M = { left: 60, right: 20, top: 16, bottom: 46 };
  const shown = model.rows.filter((r) => rotationOf(r, x) !== null && r.testAccuracy !== null);
  const hidden = model.rows.filter((r) => !shown.includes(r));
  const xs = shown.map((r) => rotationOf(r, x) as number);
  const ys = shown.map((r) => r.testAccuracy as number);
  const ax = axisTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 6);
  const ay = axisTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (v: number) => M.left + ((v - ax.min) / (ax.max - ax.min)) * pw;
  const sy = (v: number) => M.top + ph - ((v - ay.min) / (ay.max - ay.min)) * ph;
  const svg = svgEl('svg', { xmlns: NS, width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'font-size': 11 });
  svg.classList.add('figure');
  svg.setAttribute('font-family', 'sans-serif');
  svg.append(svgEl('rect', { width: W, height: H, fill: colors.background }));
  const stepOf = (t: number[]) => (t.length > 1 ? t[1] - t[0] : 1);
  for (const t of ay.ticks) {
    svg.append(svgEl('line', { x1: M.left, x2: M.left + pw, y1: sy(t), y2: sy(t), stroke: colors.grid }));
    const label = svgEl('text', { x: M.left - 6, y: sy(t) + 4, 'text-anchor': 'end', fill: colors.fg });
    label.textContent = tickLabel(t, stepOf(ay.ticks), true);
    svg.append(label);
  }
  for (const t of ax.ticks) {
    svg.append(svgEl('line', { x1: sx(t), x2: sx(t), y1: M.top, y2: M.top + ph, stroke: colors.grid }));
    const label = svgEl('text', { x: sx(t), y: M.top + ph + 16, 'text-anchor': 'middle', fill: colors.fg });
    label.textContent = tickLabel(t, stepOf(ax.ticks));
    svg.append(label);
  }
  svg.append(svgEl('rect', { x: M.left, y: M.top, width: pw, height: ph, fill: 'none', stroke: colors.grid }));
  const xTitle = svgEl('text', { x: M.left + pw / 2, y: H - 8, 'text-anchor': 'middle', fill: colors.fg });
  xTitle.textContent = `final cosine distance to initialization (${x} over layers)`;
  const yTitle = svgEl('text', {
    transform: `translate(14 ${M.top + ph / 2}) rotate(-90)`,
    'text-anchor': 'middle',
    fill: colors.fg,
  });
  yTitle.textContent = 'test accuracy';
  svg.append(xTitle, yTitle);
  shown.forEach((r, i) => {
    const px = sx(xs[i]);
    const py = sy(ys[i]);
    const g = svgEl('g', { class: `point${r.status === 'failed' ? ' failed' : ''}`, 'data-run': r.runId });
    const title = svgEl('title', {});
    title.textContent = `${r.label}: ${(100 * ys[i]).toFixed(2)}% at ${xs[i].toFixed(3)} (${r.status})`;
    g.append(title);
    if (r.status === 'failed')
      g.append(
        svgEl('path', {
          d: `M${px - 5},${py - 5}l10,10m0,-10l-10,10`,
          stroke: colors.failed,
          'stroke-width': 2.2,
        }),
      );
    else
      g.append(
        svgEl('circle', {
          cx: px,
          cy: py,
          r: 5,
          fill: r.status === 'completed' ? colors.point : colors.background,
          stroke: colors.point,
          'stroke-width': 1.8,
        }),
      );
    // A larger invisible target for the pointer.
    g.append(svgEl('circle', { cx: px, cy: py, r: 10, fill: 'transparent' }));
    g.addEventListener('mouseenter', () => onHover(r, { x: px, y: py }));
    g.addEventListener('mouseleave', () => onHover(null, { x: px, y: py }));
    svg.append(g);
  });
  host.replaceChildren(svg);
  return { svg, shown, hidden };
}
