// The viridis colormap (dark purple -> yellow), used to colour layers by depth: the first
// layer dark purple, the last yellow, as in the paper's layer rotation curves. Shared by the
// CLI's SVG report and the editor's monitor.

const STOPS: [number, number, number][] = [
  [0x44, 0x01, 0x54],
  [0x48, 0x28, 0x78],
  [0x3e, 0x49, 0x89],
  [0x31, 0x68, 0x8e],
  [0x26, 0x82, 0x8e],
  [0x1f, 0x9e, 0x89],
  [0x35, 0xb7, 0x79],
  [0x6e, 0xce, 0x58],
  [0xfd, 0xe7, 0x25],
];

/** The colour at t in [0, 1] as `#rrggbb`. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const c = STOPS[i].map((v, k) => Math.round(v + (STOPS[i + 1][k] - v) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** The colour of layer `index` of `count`, by depth. */
export function layerColor(index: number, count: number): string {
  return viridis(count <= 1 ? 0 : index / (count - 1));
}

/** sRGB `#rrggbb` (or `rgb(r, g, b)`) as [r, g, b] 0-255; null when it cannot be read. */
export function parseRgb(css: string): [number, number, number] | null {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(css.trim());
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/.exec(css);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** WCAG relative luminance of an sRGB colour. */
export function luminance([r, g, b]: readonly number[]): number {
  const lin = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two sRGB colours (1 to 21). */
export function contrast(a: readonly number[], b: readonly number[]): number {
  const x = luminance(a);
  const y = luminance(b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/**
 * The part of viridis that stands out on `background` by at least `minContrast`: viridis gets
 * lighter from purple to yellow, so on a dark background its dark end is left out, on a light one
 * its yellow end. Returns [from, to] in [0, 1] (the whole map when nothing needs leaving out).
 */
export function viridisRange(background: readonly number[], minContrast: number): [number, number] {
  const ok = (t: number) => contrast(parseRgb(viridis(t)) as number[], background) >= minContrast;
  const dark = luminance(background) < 0.2;
  const steps = 200;
  if (dark) {
    for (let i = 0; i <= steps; i++) if (ok(i / steps)) return [i / steps, 1];
    return [0.75, 1];
  }
  for (let i = steps; i >= 0; i--) if (ok(i / steps)) return [0, i / steps];
  return [0, 0.25];
}

/** The colour of layer `index` of `count`, by depth, within the part [from, to] of viridis. */
export function layerColorIn(index: number, count: number, [from, to]: readonly [number, number]): string {
  return viridis(from + (to - from) * (count <= 1 ? 0 : index / (count - 1)));
}
