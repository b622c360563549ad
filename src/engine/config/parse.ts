// Entry points: config text or file in, checked config (or placed errors) out. The text is parsed
// as JSON with comments, then checked in turn for syntax, duplicate keys, the schema, the
// semantics and the sweep's grid; a config without errors gets its defaults.
import * as fs from 'node:fs';
import { type ParseError, parseTree } from 'jsonc-parser';
import { resolveConfig } from './defaults';
import { type Json, plainValue } from './json';
import { Reporter } from './positions';
import { checkSchema } from './schema-errors';
import { checkSemantics } from './semantics';
import { checkSweep } from './sweep';
import { checkDuplicateKeys, MAX_NESTING, reportSyntaxErrors, tooDeep } from './syntax';
import type { Checked, ConfigError } from './types';
import { oneLine } from '../../runlog/sanitize';

/**
 * The largest config file checked: a config is a few KB (a sweep's values included), and every
 * check is linear in the text, so this bounds the time `check` and the editor spend on any file.
 */
export const MAX_CONFIG_BYTES = 2 ** 20;

function tooLarge(file: string, bytes: number): Checked {
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
  const message = `the config file is ${mb(bytes)} (${bytes.toLocaleString('en-US')} bytes); at most ${mb(MAX_CONFIG_BYTES)}: a config is a few KB`;
  return {
    ok: false,
    errors: [{ file, line: 1, column: 1, offset: 0, length: 0, path: [], message, severity: 'error' }],
  };
}

/** Parses and checks config text (JSON with comments and trailing commas) from `file`. */
export function parseConfigText(text: string, file: string): Checked {
  const bytes = Buffer.byteLength(text); // as UTF-8, what the file holds
  if (bytes > MAX_CONFIG_BYTES) return tooLarge(file, bytes);
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const deep = tooDeep(source);
  if (deep) {
    const report = new Reporter(file, source, undefined);
    report.addRange(
      deep.offset,
      deep.length,
      [],
      `the config nests objects and arrays more than ${MAX_NESTING} levels deep here; a config nests a few levels (model, optimizer, sweep values)`,
    );
    return report.result();
  }
  const parseErrors: ParseError[] = [];
  const root = parseTree(source, parseErrors, { allowTrailingComma: true, disallowComments: false });
  const report = new Reporter(file, source, root);
  if (!root || parseErrors.length > 0) {
    reportSyntaxErrors(report, source, parseErrors, root);
    return report.result();
  }
  const value = plainValue(root);
  checkDuplicateKeys(report, root, []);
  checkSchema(report, value);
  checkSemantics(report, value);
  checkSweep(report, value);
  return report.result(() => resolveConfig(value as Json, file));
}

/** Reads and checks a config file; an unreadable file is an error at 1:1 giving the OS reason. */
export function loadConfigFile(file: string): Checked {
  let text: string;
  try {
    // Not read at all when too large (a file of gigabytes would fill the memory first).
    const stat = fs.statSync(file);
    // A device or pipe may never end (a folder fails to read with EISDIR).
    if (!stat.isFile() && !stat.isDirectory()) throw new Error(`${file} is not a regular file`);
    if (stat.size > MAX_CONFIG_BYTES) return tooLarge(file, stat.size);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const message = `cannot read the config file: ${(err as Error).message}`;
    return {
      ok: false,
      errors: [{ file, line: 1, column: 1, offset: 0, length: 0, path: [], message, severity: 'error' }],
    };
  }
  return parseConfigText(text, file);
}

/** `file:line:col: message`, with ` (warning)` appended for warnings: one line, whatever the config's text holds (runlog/sanitize.ts). */
export function formatError(e: ConfigError): string {
  return oneLine(`${e.file}:${e.line}:${e.column}: ${e.message}${e.severity === 'warning' ? ' (warning)' : ''}`);
}
