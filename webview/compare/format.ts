// Cells and axes of the comparison tab, as people read them (pure: no DOM).
import { durationText } from '../../src/experiments/compareModel';
import type { Cell, Column, CompareRow } from '../compareProtocol';

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** A table cell: percentages, distances to 3 decimals, durations; '–' for blanks. */
export function showCell(v: Cell, kind: Column['kind']): string {
  if (v === null || v === '') return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '–';
    if (kind === 'fraction') return pct(v);
    if (kind === 'distance') return v.toFixed(3);
    if (kind === 'seconds') return durationText(v);
    return String(v);
  }
  return String(v);
}

/** The figure's x value of a row: its min or mean final distance over layers. */
export function rotationOf(row: CompareRow, x: 'min' | 'mean'): number | null {
  return x === 'min' ? row.minDistance : row.meanDistance;
}

/** Round ticks covering [lo, hi] (at least two), and the range they span. */
export function axisTicks(lo: number, hi: number, count: number): { min: number; max: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.05 || 0.05;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = min; v <= max + step / 2; v += step) ticks.push(Number(v.toFixed(10)));
  return { min, max: max > min ? max : min + step, ticks };
}

/** A tick label with the decimals its step needs. */
export function tickLabel(v: number, step: number, percent = false): string {
  const s = percent ? 100 * step : step;
  let d = Math.max(0, -Math.floor(Math.log10(s) + 1e-9));
  while (d < 8 && Math.abs(s * 10 ** d - Math.round(s * 10 ** d)) > 1e-6) d++;
  return percent ? `${(100 * v).toFixed(d)}%` : v.toFixed(d);
}
