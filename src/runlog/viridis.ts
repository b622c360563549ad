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
