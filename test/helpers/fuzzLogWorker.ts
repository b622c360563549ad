// The run-log fuzzer's worker thread (test/fuzz-log.test.ts): for each log it is sent, what the
// CLI's `report` and `compare` do with it (the reader, normalization, the verdict, the table, the
// curves and the comparison's SVGs) and the editor's incremental reader, then the checks: the
// answer comes (the main thread times it: a hang is caught there), every printed line is one line
// free of control characters, every SVG is well-formed XML, every event kept is one the webview
// accepts, and the two readers agree. Replies { id, problem? } (problem: what went wrong, or the
// exception's stack).
import * as path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { buildComparison } from '../../src/experiments/compare';
import { runInput } from '../../src/experiments/compareFolders';
import { accuracyRotationSvg, curvesGridSvg } from '../../src/experiments/compareSvg';
import type { RunEvent } from '../../src/runlog/events';
import { isRunEvent } from '../../src/runlog/normalize';
import { type RunLog, skippedCount } from '../../src/runlog/read';
import { LogTail } from '../../src/runlog/tail';
import { controlIn, reportOf } from './logs';
import { xmlProblem } from './xml';

export interface FuzzRequest {
  id: number;
  /** The run folder holding events.jsonl. */
  folder: string;
}
export interface FuzzReply {
  id: number;
  problem?: string;
  /** Events kept and lines skipped (for the summary). */
  kept?: number;
  skipped?: number;
}

function check(folder: string): string | undefined {
  const file = path.join(folder, 'events.jsonl');
  const r = reportOf(file);
  for (const line of [...r.skipped, ...r.lines]) {
    const bad = controlIn(line);
    if (bad) return `a printed line holds ${bad}: ${JSON.stringify(line.slice(0, 200))}`;
  }
  const svgProblem = xmlProblem(r.svg);
  if (svgProblem) return `curves.svg is not well-formed: ${svgProblem}`;
  const log = r.log;
  for (const e of eventsOf(log))
    if (!isRunEvent(e)) return `a kept ${(e as RunEvent).type} event the webview would reject`;
  if (log.started) {
    const model = buildComparison([runInput(folder, log)]);
    for (const row of model.rows)
      for (const line of row.skipped) if (controlIn(line)) return `a comparison line holds ${controlIn(line)}`;
    const grid = curvesGridSvg(model.rows.map((row) => ({ row, log })));
    const gridProblem = xmlProblem(grid);
    if (gridProblem) return `the curves grid SVG is not well-formed: ${gridProblem}`;
    const scatterProblem = xmlProblem(accuracyRotationSvg(model, 'min'));
    if (scatterProblem) return `the accuracy/rotation SVG is not well-formed: ${scatterProblem}`;
  }
  // The editor's reader (the watcher's LogTail, in small chunks) skips the same lines and keeps the same events.
  const tail = new LogTail(file, { chunkBytes: 4096 });
  let events = 0;
  const skippedLines: number[] = [];
  for (;;) {
    const c = tail.read();
    events += c.events.length;
    for (const s of c.skipped) {
      skippedLines.push(s.line);
      if (controlIn(s.reason)) return `a skip reason holds ${controlIn(s.reason)}`;
    }
    if (!c.more) break;
  }
  if (skippedLines.length !== skippedCount(log))
    return `the editor's reader skipped ${skippedLines.length} lines, the CLI's ${skippedCount(log)}`;
  const firstSkipped = log.skipped.map((s) => s.line).join(',');
  if (skippedLines.slice(0, log.skipped.length).join(',') !== firstSkipped)
    return `the readers skipped different lines: ${firstSkipped.slice(0, 100)} / ${skippedLines.slice(0, 20).join(',')}`;
  const seen = Object.values(log.sampling ?? {}).reduce((a, s) => a + (s?.seen ?? 0), 0);
  const whole = (log.started ? 1 : 0) + (log.finished ? 1 : 0);
  if (events < seen + whole) return `the editor's reader kept ${events} events, the CLI's read ${seen + whole} or more`;
  return undefined;
}

function eventsOf(log: RunLog): RunEvent[] {
  const out: RunEvent[] = [...log.rotations, ...log.batches, ...log.epochs, ...log.logs];
  if (log.started) out.push(log.started);
  if (log.finished) out.push(log.finished);
  if (log.features) out.push(log.features.first, log.features.last);
  return out;
}

parentPort?.on('message', (m: FuzzRequest) => {
  let reply: FuzzReply;
  try {
    const problem = check(m.folder);
    reply = { id: m.id, problem };
  } catch (e) {
    reply = { id: m.id, problem: `exception: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}` };
  }
  parentPort?.postMessage(reply);
});
