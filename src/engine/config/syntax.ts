// Syntax errors of the JSON-with-comments text, in words, and duplicate keys (JSON.parse would
// silently keep the last one).
import { createScanner, type Node, type ParseError, printParseErrorCode, SyntaxKind } from 'jsonc-parser';
import type { JsonPath } from './json';
import type { Reporter } from './positions';
import { suggest } from './suggest';
import { inWhere } from './wording';

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected text',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between entries",
  CloseBraceExpected: "expected '}' to close the object",
  CloseBracketExpected: "expected ']' to close the array",
  EndOfFileExpected: 'unexpected text after the end of the config object',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: "unterminated block comment (missing '*/')",
  UnexpectedEndOfString: 'unterminated string (missing closing double quote)',
  UnexpectedEndOfNumber: 'incomplete number',
  InvalidUnicode: 'invalid unicode escape in string',
  InvalidEscapeCharacter: 'invalid escape character in string',
  InvalidCharacter: 'invalid character in string (control characters must be escaped)',
};

/** The deepest a config nests objects and arrays (a real one nests about 6 deep). */
export const MAX_NESTING = 64;

/**
 * Where the text first nests objects and arrays deeper than MAX_NESTING, or undefined. A scan of
 * its tokens without recursion, before anything recursive (the parser, the schema) sees the text.
 */
export function tooDeep(text: string): { offset: number; length: number } | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  for (let token = scanner.scan(); token !== SyntaxKind.EOF; token = scanner.scan()) {
    if (token === SyntaxKind.OpenBraceToken || token === SyntaxKind.OpenBracketToken) {
      if (++depth > MAX_NESTING) return { offset: scanner.getTokenOffset(), length: 1 };
    } else if (token === SyntaxKind.CloseBraceToken || token === SyntaxKind.CloseBracketToken)
      depth = Math.max(0, depth - 1);
  }
  return undefined;
}

export function reportSyntaxErrors(report: Reporter, text: string, errors: ParseError[], root: Node | undefined): void {
  if (!root && errors.every((e) => printParseErrorCode(e.error) === 'ValueExpected')) {
    const message = 'the file holds no JSON value; expected an object with dataset, model, optimizer and schedule';
    report.addRange(0, 0, [], message);
    return;
  }
  let previous: ParseError | undefined;
  for (const e of errors) {
    // The parser recovers cleanly from a missing ',' or ':'; after other errors (or a second
    // error at the same spot), what follows is mostly a consequence of the first: stop there.
    if (previous && (previous.offset === e.offset || !CLEAN_RECOVERY.has(printParseErrorCode(previous.error)))) break;
    report.addRange(e.offset, e.length, [], `syntax error: ${syntaxMessage(e, text)}`);
    previous = e;
  }
}

const CLEAN_RECOVERY = new Set(['CommaExpected', 'ColonExpected']);

function syntaxMessage(e: ParseError, text: string): string {
  const code = printParseErrorCode(e.error);
  const base = SYNTAX_MESSAGES[code] ?? code;
  const digits = /\d/.test(text[e.offset - 1] ?? '') && /\d/.test(text[e.offset] ?? '');
  if (code === 'CommaExpected' && digits) return 'invalid number: JSON numbers cannot have leading zeros';
  if (code !== 'InvalidSymbol') return base;
  const snippet = text.slice(e.offset, e.offset + Math.min(e.length, 20));
  return `${base} '${snippet}'${symbolHint(snippet)}`;
}

function symbolHint(snippet: string): string {
  const literal = suggest(snippet, ['true', 'false', 'null']);
  if (literal) return `; did you mean '${literal}'?`;
  if (/^[+-]?(NaN|Infinity)$/.test(snippet)) return ' (JSON has no NaN or Infinity)';
  return /^[A-Za-z_$]/.test(snippet) ? ' (keys and strings need double quotes)' : '';
}

export function checkDuplicateKeys(report: Reporter, node: Node, path: JsonPath): void {
  if (node.type === 'array') {
    node.children?.forEach((child, i) => checkDuplicateKeys(report, child, [...path, i]));
    return;
  }
  if (node.type !== 'object') return;
  const seen = new Map<string, Node>();
  for (const prop of node.children ?? []) {
    const [keyNode, valueNode] = prop.children ?? [];
    if (!keyNode) continue;
    const key = String(keyNode.value);
    const first = seen.get(key);
    if (first) {
      const { line } = report.position(first.offset);
      const message = `duplicate key '${key}' ${inWhere(path)} (also on line ${line}); only the last one counts`;
      report.addRange(keyNode.offset, keyNode.length, [...path, key], message);
    } else seen.set(key, keyNode);
    if (valueNode) checkDuplicateKeys(report, valueNode, [...path, key]);
  }
}
