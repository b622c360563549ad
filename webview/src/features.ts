// First-layer features, drawn: the units of a `features` snapshot (docs/run-log-format.md) as a
// grid of small images, the snapshot at initialization next to the latest one, so that one sees
// the first layer's features turn from noise into strokes and edges as it rotates (the paper's
// section 6). Each unit is contrast-normalized on its own (its lowest weight black, its highest
// white; over its 3 channels together for RGB, so that colours keep their balance), scaled up by
// a whole factor without smoothing. Pure: no messages, no state; the monitor (main.ts) calls
// drawFeatures with the run's first and latest snapshots (RunStore.features) and featuresPng for
// an export. Nothing here reads the page's styles: colours and font come in the options.
import type { FeaturesEvent } from '../protocol';
import { featureBytes } from '../../src/runlog/features';

/** The snapshots to draw: at initialization and now. */
export interface FeaturesPair {
  initial: FeaturesEvent;
  current: FeaturesEvent;
}

export interface FeaturesDrawOptions {
  /** CSS pixels available across (default 960): the panels sit side by side when they fit, else one above the other. */
  maxWidth?: number;
  /** Largest side of a unit's tile, in pixels (default 56: MNIST's 28 x 28 at 2x). */
  maxTile?: number;
  /** Pixels between tiles (default 2). */
  gap?: number;
  /** Canvas background, shown between the tiles (default VS Code's dark editor background). */
  background?: string;
  /** Text colour (default VS Code's dark foreground). */
  foreground?: string;
  /** Text font (default 12px sans-serif). */
  font?: string;
}

export interface TileRect {
  /** 0: the initial snapshot's panel; 1: the current one's. */
  panel: number;
  unit: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where everything is drawn (canvas pixels), and what the labels say. */
export interface FeaturesLayout {
  width: number;
  height: number;
  /** Each image pixel is drawn as scale x scale canvas pixels. */
  scale: number;
  cols: number;
  rows: number;
  /** Side by side, or one above the other (a narrow view). */
  stacked: boolean;
  title: string;
  panels: { x: number; y: number; label: string }[];
  tiles: TileRect[];
}

const PAD = 8;
const PANEL_GAP = 16;
const TITLE_H = 20;
const LABEL_H = 18;

const DEFAULTS = {
  maxWidth: 960,
  maxTile: 56,
  gap: 2,
  background: '#1f1f1f',
  foreground: '#cccccc',
  font: '12px sans-serif',
};

function epochText(epoch: number): string {
  return Number.isInteger(epoch) ? String(epoch) : epoch.toFixed(2);
}

/** What the picture says of a snapshot: layer, how many units of how many, image shape. */
export function featuresTitle(e: FeaturesEvent): string {
  const [h, w, c] = e.image;
  const what = e.kind === 'conv2d' ? 'filters' : 'units';
  const which = e.units === e.totalUnits ? `all ${e.units} ${what}` : `first ${e.units} of ${e.totalUnits} ${what}`;
  return `${e.layer}: ${which}, ${h}×${w} ${c === 3 ? 'RGB' : 'grey'}`;
}

function panelLabel(e: FeaturesEvent, initial: boolean): string {
  if (initial && e.step === 0) return 'at initialization (step 0)';
  return `epoch ${epochText(e.epoch)}, step ${e.step}`;
}

/** The initial snapshot can sit next to the current one: the same layer, image and units. */
function comparable(a: FeaturesEvent, b: FeaturesEvent): boolean {
  return a !== b && a.layer === b.layer && a.image.every((d, i) => d === b.image[i]) && a.units === b.units;
}

/** The layout of a pair (pure). */
export function layoutFeatures(pair: FeaturesPair, options: FeaturesDrawOptions = {}): FeaturesLayout {
  const o = { ...DEFAULTS, ...options };
  const e = pair.current;
  const [h, w] = e.image;
  const both = comparable(pair.initial, e);
  const panelCount = both ? 2 : 1;
  const cols = Math.ceil(Math.sqrt(e.units));
  const rows = Math.ceil(e.units / cols);
  const panelW = (s: number) => cols * (w * s + o.gap) - o.gap;
  const panelH = (s: number) => rows * (h * s + o.gap) - o.gap;
  const across = (s: number) => 2 * PAD + panelCount * panelW(s) + (panelCount - 1) * PANEL_GAP;
  const most = Math.max(1, Math.floor(o.maxTile / Math.max(h, w)));
  let stacked = false;
  let scale = 0;
  for (let s = most; s >= 1 && !scale; s--) if (across(s) <= o.maxWidth) scale = s;
  if (!scale && panelCount === 2) {
    stacked = true;
    for (let s = most; s >= 1 && !scale; s--) if (2 * PAD + panelW(s) <= o.maxWidth) scale = s;
  }
  scale ||= 1;
  const pw = panelW(scale);
  const ph = panelH(scale);
  const panels: FeaturesLayout['panels'] = [];
  const tiles: TileRect[] = [];
  const events = both ? [pair.initial, e] : [e];
  events.forEach((snap, p) => {
    const x = PAD + (stacked ? 0 : p * (pw + PANEL_GAP));
    const y = PAD + TITLE_H + (stacked ? p * (LABEL_H + ph + PANEL_GAP) : 0);
    panels.push({ x, y, label: panelLabel(snap, both && p === 0) });
    for (let u = 0; u < snap.units; u++) {
      const col = u % cols;
      const row = Math.floor(u / cols);
      tiles.push({
        panel: both ? p : 1,
        unit: u,
        x: x + col * (w * scale + o.gap),
        y: y + LABEL_H + row * (h * scale + o.gap),
        w: w * scale,
        h: h * scale,
      });
    }
  });
  if (!both) panels[0].label = panelLabel(e, false);
  const width = stacked ? 2 * PAD + pw : across(scale);
  const height = PAD + TITLE_H + (stacked ? 2 : 1) * (LABEL_H + ph) + (stacked ? PANEL_GAP : 0) + PAD;
  return { width, height, scale, cols, rows, stacked, title: featuresTitle(e), panels, tiles };
}

/**
 * Every unit of a snapshot as RGBA pixels (units x h x w x 4, unit-major), contrast-normalized
 * per unit: its lowest weight 0, its highest 255 (linear between; RGB channels share one range);
 * a unit whose weights are all equal is mid-grey. The weights are q x scale with scale > 0, so the
 * int8 values q are normalized as they are (pure).
 */
export function unitPixels(e: FeaturesEvent): Uint8ClampedArray {
  const q = featureBytes(e);
  const [h, w, c] = e.image;
  const size = h * w * c;
  const out = new Uint8ClampedArray(e.units * h * w * 4);
  for (let u = 0; u < e.units; u++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let p = u * size; p < (u + 1) * size; p++) {
      if (q[p] < lo) lo = q[p];
      if (q[p] > hi) hi = q[p];
    }
    const k = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < h * w; i++) {
      const src = u * size + i * c;
      const dst = (u * h * w + i) * 4;
      for (let ch = 0; ch < 3; ch++) {
        const v = q[src + (c === 3 ? ch : 0)];
        out[dst + ch] = k ? Math.round((v - lo) * k) : 128;
      }
      out[dst + 3] = 255;
    }
  }
  return out;
}

/** One unit's tile: its pixels scaled up `scale` times (nearest neighbour). */
function tileImage(pixels: Uint8ClampedArray, unit: number, h: number, w: number, scale: number): ImageData {
  const img = new ImageData(w * scale, h * scale);
  const base = unit * h * w * 4;
  for (let y = 0; y < h * scale; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < w * scale; x++) {
      const src = base + (sy * w + Math.floor(x / scale)) * 4;
      const dst = (y * w * scale + x) * 4;
      img.data[dst] = pixels[src];
      img.data[dst + 1] = pixels[src + 1];
      img.data[dst + 2] = pixels[src + 2];
      img.data[dst + 3] = 255;
    }
  }
  return img;
}

/** Draws the pair on `canvas` (resized to the layout, in canvas pixels); returns the layout. */
export function drawFeatures(
  canvas: HTMLCanvasElement,
  pair: FeaturesPair,
  options: FeaturesDrawOptions = {},
): FeaturesLayout {
  const o = { ...DEFAULTS, ...options };
  const layout = layoutFeatures(pair, options);
  canvas.width = layout.width;
  canvas.height = layout.height;
  const g = canvas.getContext('2d');
  if (!g) throw new Error('no 2d canvas');
  g.fillStyle = o.background;
  g.fillRect(0, 0, layout.width, layout.height);
  g.fillStyle = o.foreground;
  g.font = o.font;
  g.textBaseline = 'middle';
  g.fillText(layout.title, PAD, PAD + TITLE_H / 2, layout.width - 2 * PAD);
  for (const p of layout.panels) g.fillText(p.label, p.x, p.y + LABEL_H / 2, layout.width - p.x - PAD);
  const [h, w] = pair.current.image;
  const pixels = [layout.panels.length === 2 ? unitPixels(pair.initial) : null, unitPixels(pair.current)];
  for (const t of layout.tiles) {
    const px = pixels[t.panel];
    if (px) g.putImageData(tileImage(px, t.unit, h, w, layout.scale), t.x, t.y);
  }
  return layout;
}

/** The canvas as PNG bytes (canvas.toBlob). */
export async function canvasPng(canvas: HTMLCanvasElement): Promise<Uint8Array> {
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('the canvas could not be encoded as PNG');
  return new Uint8Array(await blob.arrayBuffer());
}

/** The pair drawn on a canvas of its own, as PNG bytes: what an export writes. */
export function featuresPng(pair: FeaturesPair, options: FeaturesDrawOptions = {}): Promise<Uint8Array> {
  const canvas = document.createElement('canvas');
  drawFeatures(canvas, pair, options);
  return canvasPng(canvas);
}
