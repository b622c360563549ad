// Where errors go: the Reporter collects errors and warnings, each placed on a JSON node of the
// parsed tree (1-based line and column, offset and length); and the lookup of nodes by path.
import type { Node } from 'jsonc-parser';
import type { JsonPath } from './json';
import type { Checked, ConfigError, TrainingConfig } from './types';

export type Severity = ConfigError['severity'];
/** Which range to mark: the value at the path, the key naming it, or (missing key) the object. */
export type Target = 'value' | 'key' | 'missing';

export interface Issue {
  path: JsonPath;
  /** The message, or how to word it (only done when it is listed). */
  message: string | (() => string);
  target?: Target;
  severity?: Severity;
}

/**
 * At most this many errors and warnings are placed and listed; the rest are counted in one more
 * (placing each costs a walk of the tree, and no reader wants a million of them).
 */
export const MAX_LISTED = 200;

export class Reporter {
  private readonly errors: ConfigError[] = [];
  /** The issues past MAX_LISTED: not placed, but still known to hasErrorsUnder. */
  private readonly unlisted: { issue: Issue; offset?: number }[] = [];
  private readonly lineStarts: number[];

  constructor(
    private readonly file: string,
    text: string,
    private readonly root: Node | undefined,
  ) {
    this.lineStarts = lineStartsOf(text);
  }

  add(issue: Issue): void {
    if (this.errors.length >= MAX_LISTED) {
      this.unlisted.push({ issue });
      return;
    }
    const { offset, length } = this.rangeOf(issue.path, issue.target ?? 'value');
    this.addRange(offset, length, issue.path, wording(issue.message), issue.severity ?? 'error');
  }

  addRange(offset: number, length: number, path: JsonPath, message: string, severity: Severity = 'error'): void {
    if (this.errors.length >= MAX_LISTED) {
      this.unlisted.push({ issue: { path, message, severity }, offset });
      return;
    }
    const { line, column } = this.position(offset);
    this.errors.push({ file: this.file, line, column, offset, length, path, message, severity });
  }

  /** Whether issues are past MAX_LISTED already: the next ones are only counted (their messages unread but the first). */
  get full(): boolean {
    return this.unlisted.length > 0;
  }

  /** Whether an error (not a warning) was reported at or below this path. */
  hasErrorsUnder(prefix: JsonPath): boolean {
    const under = (path: JsonPath, severity: Severity | undefined) =>
      (severity ?? 'error') === 'error' && prefix.every((seg, i) => path[i] === seg);
    return (
      this.errors.some((e) => under(e.path, e.severity)) ||
      this.unlisted.some(({ issue }) => under(issue.path, issue.severity))
    );
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }

  result(config?: () => TrainingConfig): Checked {
    const errors = dedupe(this.errors).sort((a, b) => a.offset - b.offset || a.length - b.length);
    if (this.unlisted.length > 0) errors.push(this.unlistedSummary());
    const ok = errors.every((e) => e.severity !== 'error');
    return ok && config ? { ok: true, config: config(), errors } : { ok: false, errors };
  }

  /** One more error, where the first unlisted issue is, counting them all. */
  private unlistedSummary(): ConfigError {
    const { issue, offset: at } = this.unlisted[0];
    const { offset, length } =
      at === undefined ? this.rangeOf(issue.path, issue.target ?? 'value') : { offset: at, length: 0 };
    const { line, column } = this.position(offset);
    const errors = this.unlisted.filter(({ issue }) => (issue.severity ?? 'error') === 'error').length;
    const n = this.unlisted.length;
    const message = `${n.toLocaleString('en-US')} more problem${n === 1 ? '' : 's'} from here on (${errors.toLocaleString('en-US')} of them errors) not listed: at most ${MAX_LISTED} are; the first: ${wording(issue.message)}`;
    const severity: Severity = errors > 0 ? 'error' : 'warning';
    return { file: this.file, line, column, offset, length, path: issue.path, message, severity };
  }

  private rangeOf(path: JsonPath, target: Target): { offset: number; length: number } {
    if (!this.root) return { offset: 0, length: 0 };
    if (target !== 'value') {
      const key = propertyAt(this.root, path)?.children?.[0];
      if (key) return { offset: key.offset, length: key.length };
      if (target === 'missing') {
        const node = nodeAt(this.root, path) ?? this.root;
        return { offset: node.offset, length: 1 };
      }
    }
    const node = nearestNode(this.root, path);
    return { offset: node.offset, length: node.length };
  }
}

const wording = (message: Issue['message']) => (typeof message === 'string' ? message : message());

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10 || (ch === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.offset}:${e.length}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The child of an object (the last property with that key, as JSON.parse keeps) or array. */
function childNode(node: Node, seg: string | number): Node | undefined {
  if (node.type === 'array') return typeof seg === 'number' ? node.children?.[seg] : undefined;
  if (node.type !== 'object') return undefined;
  return lastProperty(node, String(seg))?.children?.[1];
}

/** Per object node, its properties by key (the last of each key): built once, so that placing many errors stays linear. */
const propertyIndex = new WeakMap<Node, Map<string, Node>>();

function lastProperty(object: Node, key: string): Node | undefined {
  let index = propertyIndex.get(object);
  if (!index) {
    index = new Map();
    for (const prop of object.children ?? []) {
      const k = prop.children?.[0]?.value;
      if (typeof k === 'string') index.set(k, prop);
    }
    propertyIndex.set(object, index);
  }
  return index.get(key);
}

function nodeAt(root: Node, path: JsonPath): Node | undefined {
  let node: Node | undefined = root;
  for (const seg of path) node = node && childNode(node, seg);
  return node;
}

/** The node at the path, or its nearest existing ancestor. */
function nearestNode(root: Node, path: JsonPath): Node {
  let node = root;
  for (const seg of path) {
    const child = childNode(node, seg);
    if (!child) break;
    node = child;
  }
  return node;
}

/** The property node (key and value) for the last segment of the path, when its parent is an object. */
function propertyAt(root: Node, path: JsonPath): Node | undefined {
  if (path.length === 0) return undefined;
  const parent = nodeAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  return parent?.type === 'object' ? lastProperty(parent, String(key)) : undefined;
}
