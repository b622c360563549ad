// The runs' rotation curves on shared axes, on one canvas: a small panel per run (layers coloured
// by depth, viridis) or a panel per layer (a line per run). The host thinned the curves already
// (src/experiments/compareCurves.ts), so a full draw of 50 runs x 20 layers is ~300,000 points.
import { layerColor } from '../../src/runlog/viridis';
import type { CompareRow, CurvesMode, RunCurves } from '../compareProtocol';

export interface CurveColors {
  fg: string;
  grid: string;
  failed: string;
  background: string;
}

/** Distinct colours for runs in the per-layer panels (Tableau 10). */
const RUN_COLORS = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];
export const runColor = (i: number) => RUN_COLORS[i % RUN_COLORS.length];

export interface Panel {
  title: string;
  failed: boolean;
  x: number;
  y: number;
  /** Lines: x values, y values (null: gap), colour. */
  lines: { xs: number[]; ys: (number | null)[]; color: string }[];
  target: number;
}

const PW = 240;
const PH = 140;
const GAP = { x: 20, y: 40 };
const M = { left: 40, top: 24, right: 12, bottom: 22 };

/** Lays out the panels of a mode: where each is and which lines it holds. */
export function layoutPanels(
  rows: CompareRow[],
  curves: RunCurves[],
  layerNames: string[],
  mode: CurvesMode,
  width: number,
): { panels: Panel[]; width: number; height: number; xMax: number; yMax: number } {
  const cols = Math.max(1, Math.min(6, Math.floor((width - M.left - M.right + GAP.x) / (PW + GAP.x))));
  const panels: Panel[] = [];
  let xMax = 1e-9;
  let yMax = 1;
  for (const c of curves) {
    if (c.epochs.length) xMax = Math.max(xMax, c.epochs[c.epochs.length - 1]);
    yMax = Math.max(yMax, c.target);
    for (const ys of c.distances) for (const d of ys) if (d !== null && d > yMax) yMax = d;
  }
  yMax = Math.min(2, yMax <= 1 ? 1 : Math.ceil(yMax * 10) / 10);
  const place = (k: number) => ({
    x: M.left + (k % cols) * (PW + GAP.x),
    y: M.top + Math.floor(k / cols) * (PH + GAP.y),
  });
  if (mode === 'run') {
    rows.forEach((row, k) => {
      const c = curves[k];
      panels.push({
        ...place(k),
        title: row.label,
        failed: row.status === 'failed',
        target: c.target,
        lines: c.distances.map((ys, i) => ({ xs: c.epochs, ys, color: layerColor(i, c.layers.length) })),
      });
    });
  } else {
    layerNames.forEach((name, k) => {
      const lines: Panel['lines'] = [];
      rows.forEach((_, r) => {
        const c = curves[r];
        const i = c.layers.indexOf(name);
        if (i >= 0) lines.push({ xs: c.epochs, ys: c.distances[i], color: runColor(r) });
      });
      panels.push({ ...place(k), title: name, failed: false, target: curves[0]?.target ?? 1, lines });
    });
  }
  const rowsN = Math.max(1, Math.ceil(panels.length / cols));
  return {
    panels,
    width: M.left + cols * PW + (cols - 1) * GAP.x + M.right,
    height: M.top + rowsN * PH + (rowsN - 1) * GAP.y + M.bottom,
    xMax,
    yMax,
  };
}

/** Draws the panels on the canvas (sized to them); returns the panels and the number of polylines. */
export function drawCurves(
  canvas: HTMLCanvasElement,
  layout: ReturnType<typeof layoutPanels>,
  colors: CurveColors,
): number {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(layout.width * dpr);
  canvas.height = Math.round(layout.height * dpr);
  canvas.style.width = `${layout.width}px`;
  canvas.style.height = `${layout.height}px`;
  const g = canvas.getContext('2d');
  if (!g) return 0;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = colors.background;
  g.fillRect(0, 0, layout.width, layout.height);
  g.font = '11px sans-serif';
  const { xMax, yMax } = layout;
  const yTicks = yMax >= 1.3 ? [0, 0.5, 1, yMax] : yMax > 1 ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1];
  const firstColumn = Math.min(...layout.panels.map((p) => p.x));
  let lines = 0;
  for (const p of layout.panels) {
    const sx = (v: number) => p.x + (v / xMax) * PW;
    const sy = (v: number) => p.y + PH - (v / yMax) * PH;
    g.strokeStyle = colors.grid;
    g.lineWidth = 1;
    g.setLineDash([]);
    g.beginPath();
    for (const t of yTicks) {
      g.moveTo(p.x, Math.round(sy(t)) + 0.5);
      g.lineTo(p.x + PW, Math.round(sy(t)) + 0.5);
    }
    g.stroke();
    g.fillStyle = colors.fg;
    g.textAlign = 'right';
    // Shared axes: the distances are labelled left of the first column only.
    if (p.x === firstColumn) for (const t of yTicks) g.fillText(t.toFixed(2).replace(/0$/, ''), p.x - 4, sy(t) + 4);
    g.textAlign = 'center';
    g.fillText('0', p.x, p.y + PH + 13);
    g.fillText(`${Number(xMax.toFixed(2))} epochs`, p.x + PW - 24, p.y + PH + 13);
    g.textAlign = 'left';
    g.fillStyle = p.failed ? colors.failed : colors.fg;
    const title = p.title.length > 36 ? `${p.title.slice(0, 35)}…` : p.title;
    g.fillText(p.failed ? `${title} (failed)` : title, p.x, p.y - 6);
    // The target, dashed.
    g.strokeStyle = colors.failed;
    g.setLineDash([5, 3]);
    g.beginPath();
    g.moveTo(p.x, sy(p.target));
    g.lineTo(p.x + PW, sy(p.target));
    g.stroke();
    g.setLineDash([]);
    g.lineWidth = 1.2;
    for (const line of p.lines) {
      g.strokeStyle = line.color;
      g.beginPath();
      let pen = false;
      for (let i = 0; i < line.xs.length; i++) {
        const y = line.ys[i];
        if (y === null) {
          pen = false;
          continue;
        }
        if (pen) g.lineTo(sx(line.xs[i]), sy(y));
        else g.moveTo(sx(line.xs[i]), sy(y));
        pen = true;
      }
      g.stroke();
      lines++;
    }
    g.strokeStyle = colors.grid;
    g.lineWidth = 1;
    g.strokeRect(p.x + 0.5, p.y + 0.5, PW, PH);
  }
  return lines;
}

/** The panel under a point of the canvas (CSS pixels), if any. */
export function panelAt(layout: ReturnType<typeof layoutPanels>, x: number, y: number): Panel | undefined {
  return layout.panels.find((p) => x >= p.x && x <= p.x + PW && y >= p.y - 20 && y <= p.y + PH);
}
