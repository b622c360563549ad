// Text for SVG files: escaping, tick values and labels. Pure, no Node (the webview draws SVG too).

/** Characters XML 1.0 does not allow (C0 controls but tab and newlines, U+FFFE/F, lone surrogates). */
const NOT_XML =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to replace
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text for XML content or a double-quoted attribute: markup escaped, characters XML forbids replaced by U+FFFD. */
export function esc(s: string): string {
  return s
    .replace(NOT_XML, '\ufffd')
    .replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** A tick label: integers as they are, others with at most two decimals. */
export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, '').replace(/\.$/, '');
}

/** Evenly spaced "nice" ticks from 0 to max. */
export function ticks(max: number, count: number): number[] {
  return niceTicks(0, max, count);
}

/** Evenly spaced "nice" ticks covering [min, max] (min <= max). */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min) || !Number.isFinite(max - min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}
