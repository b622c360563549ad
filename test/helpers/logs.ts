// Real run logs to start from (a finished tfjs run of the test fixtures), and what the CLI's
// `report` does with a log, step by step, as plain functions: the reader, the verdict, the
// table and the curves (src/cli.ts's report).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { outcomeLines } from '../../src/cli';
import { describeSkipped, readRunLog, type RunLog } from '../../src/runlog/read';
import { rotationCurvesSvg } from '../../src/runlog/svg';
import { ROOT } from './runs';

/** Real logs: a finished tfjs run (3 dense layers, 3 epochs, lagging). */
export const SEED_LOGS = [
  path.join(ROOT, 'test', 'vscode', 'fixtures', 'run-logs', 'lagging-synthetic-run', 'events.jsonl'),
];

/** The events of the fixture run, parsed (a fresh copy each call). */
export function fixtureEvents(): any[] {
  return fs
    .readFileSync(SEED_LOGS[0], 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** Events as the lines of events.jsonl. */
export function jsonl(events: unknown[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}

/** Writes a log into `dir`/events.jsonl (creating dir) and returns the folder. */
export function writeLog(dir: string, content: string | Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), content);
  return dir;
}

export interface Report {
  log: RunLog;
  skipped: string[];
  lines: string[];
  svg: string;
}

/** What `layer-rotation report` computes of a log file: its skipped lines, its printed outcome, its curves. */
export function reportOf(file: string): Report {
  const log = readRunLog(file);
  return {
    log,
    skipped: describeSkipped(log),
    lines: log.started ? outcomeLines(log) : [],
    svg: rotationCurvesSvg(log),
  };
}

/** Control characters that must not reach a terminal (all C0 but '\n', DEL, C1), with their offset. */
export function controlIn(text: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is looked for
  const m = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${m.index}` : undefined;
}
