// Text from configs and run logs (names, reasons, messages, values) on its way out of the program:
// the one place that decides what a terminal, the Problems panel and an XML (SVG) file may get.
// A config or a log may come from anyone (a repository, an outside script), so its text may hold
// escape sequences that a terminal would act on (ESC, CSI, OSC, CR), line breaks that would split
// one error line into several, or characters XML forbids. Pure, no Node (the webview bundles svgText).

/**
 * What a terminal or a one-line message must not get raw: C0 controls, DEL, C1 controls (U+009B is
 * a CSI on its own), the Unicode line and paragraph separators, the bidirectional overrides and
 * isolates (which reorder what is shown), U+FEFF, and lone surrogates (not text).
 */
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The same, but line feeds and tabs pass (text of several lines, for a terminal). */
const CONTROL_BUT_LINES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Characters XML 1.0 does not allow (its Char production): C0 controls but tab and newlines, U+FFFE/F, lone surrogates. */
const NOT_XML =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to replace
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/** A character as it is shown escaped: \n, \r, \t, \e (ESC), \xHH, \uHHHH; a lone surrogate as U+FFFD. */
function escaped(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The most characters of one value or message shown by default; longer ones are cut and say their length. */
export const MAX_TEXT = 2000;

/** `s` cut to at most `max` UTF-16 units, never inside a surrogate pair, saying how long it was. */
function cut(s: string, max: number): { text: string; more: string } {
  if (s.length <= max) return { text: s, more: '' };
  let end = Math.max(0, max);
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return { text: s.slice(0, end), more: `… (${s.length.toLocaleString('en-US')} characters)` };
}

/**
 * Text shown on one line (a terminal line, a table cell, a Problems message): every control
 * character escaped (so a '\n' in a value does not split the line, and no escape sequence
 * reaches the terminal), cut to `max` characters.
 */
export function oneLine(s: string, max = MAX_TEXT): string {
  const { text, more } = cut(String(s), max);
  return text.replace(CONTROL, escaped) + more;
}

/** Text for a terminal that may span lines: controls escaped as in oneLine, but '\n' and tabs kept. */
export function terminalText(s: string): string {
  return String(s).replace(CONTROL_BUT_LINES, escaped);
}

/** Text with the characters XML forbids replaced by U+FFFD (markup is not escaped: see svgText.esc). */
export function xmlChars(s: string): string {
  return String(s).replace(NOT_XML, '\ufffd');
}

/** Whether every character of `s` is one XML 1.0 allows (its Char production). */
export function isXmlText(s: string): boolean {
  NOT_XML.lastIndex = 0;
  const bad = NOT_XML.test(s);
  NOT_XML.lastIndex = 0;
  return !bad;
}

/** A message for the Problems panel built from config or log text: one line, bounded. */
export function problemText(s: string): string {
  return oneLine(s, MAX_TEXT);
}

/**
 * A value named in a problem: a string quoted as JSON (its first 100 characters), anything else by
 * its kind; never stringified whole (a line may hold a value megabytes long or nested 100,000 deep).
 */
export function shownValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}
