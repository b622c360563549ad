// Problems on run logs (events.jsonl): every line that is not a valid run-log event (skipped,
// with its line number and why), and the verdict's problems of an outside run once it has
// finished (lagging layers, or a run that did not fit or learn; an outside run has no config to
// put them on). Only runs whose state changed are redone.
import * as vscode from 'vscode';
import { logLagProblems } from '../engine/config/lagProblems';
import { skippedCount } from '../runlog/read';
import { problemText } from '../runlog/sanitize';
import type { Run, RunManager } from './runs';

export const LOG_DIAGNOSTIC_SOURCE = 'Layer Rotation';
/** Skipped lines of one log shown one by one; the rest are counted in one more problem. */
const MAX_LINE_PROBLEMS = 200;

export class LogDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('layer-rotation-logs');
  /** Per log file: what the diagnostics were made from. */
  private readonly made = new Map<string, string>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly runs: RunManager) {
    this.subscription = runs.onDidChange(() => this.update());
    this.update();
  }

  private update(): void {
    const current = new Set<string>();
    for (const run of this.runs.all) {
      const file = run.log.file;
      if (!file) continue;
      current.add(file);
      const signature = `${skippedCount(run.log)}|${run.log.finished?.time ?? ''}|${run.outside}`;
      if (this.made.get(file) === signature) continue;
      this.made.set(file, signature);
      this.collection.set(vscode.Uri.file(file), diagnosticsOf(run));
    }
    for (const file of [...this.made.keys()]) {
      if (current.has(file)) continue;
      this.made.delete(file);
      this.collection.delete(vscode.Uri.file(file));
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.collection.dispose();
  }
}

/** Lines are 1-based in the log; a line's whole width is marked. */
function lineRange(line: number): vscode.Range {
  return new vscode.Range(line - 1, 0, line - 1, Number.MAX_SAFE_INTEGER);
}

function diagnosticsOf(run: Run): vscode.Diagnostic[] {
  const out: vscode.Diagnostic[] = [];
  const skipped = run.log.skipped;
  const total = skippedCount(run.log);
  for (const s of skipped.slice(0, MAX_LINE_PROBLEMS)) {
    const d = new vscode.Diagnostic(
      lineRange(s.line),
      problemText(`Line ${s.line} is not a valid run-log event and was skipped: ${s.reason}`),
      vscode.DiagnosticSeverity.Warning,
    );
    d.source = LOG_DIAGNOSTIC_SOURCE;
    d.code = 'skipped-line';
    out.push(d);
  }
  if (total > MAX_LINE_PROBLEMS) {
    const d = new vscode.Diagnostic(
      lineRange(skipped[Math.min(MAX_LINE_PROBLEMS, skipped.length - 1)].line),
      `${total - MAX_LINE_PROBLEMS} more lines were skipped (${total} in all); is this a run log?`,
      vscode.DiagnosticSeverity.Warning,
    );
    d.source = LOG_DIAGNOSTIC_SOURCE;
    d.code = 'skipped-line';
    out.push(d);
  }
  if (run.outside) {
    for (const p of logLagProblems(run.log)) {
      const d = new vscode.Diagnostic(
        lineRange(p.line),
        problemText(p.message),
        p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information,
      );
      d.source = LOG_DIAGNOSTIC_SOURCE;
      d.code = p.code;
      out.push(d);
    }
  }
  return out;
}
