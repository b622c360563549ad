// Diagnostics on *.layerrot.json files: config errors while typing (the CLI's validator, at the
// exact ranges), and, during and after a run, the verdict's problems (src/engine/config/lagProblems.ts):
// one per lagging layer at the JSON node that defines it (Information: one run is an indicator, a
// comparison is evidence), or one for a run that did not fit (Information) or did not learn (Warning).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseConfigText } from '../engine/config/validate';
import {
  configLagProblems,
  LAG_CODE,
  NO_LEARNING_CODE,
  NO_LEARNING_UNCLEAR_CODE,
  NOT_FIT_CODE,
} from '../engine/config/lagProblems';
import type { Run, RunManager } from './runs';

export const CONFIG_GLOB = '**/*.layerrot.json';
export const SOURCE = 'Layer Rotation';

export function isConfigDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && doc.fileName.endsWith('.layerrot.json');
}

const VERDICT_CODES: unknown[] = [LAG_CODE, NOT_FIT_CODE, NO_LEARNING_CODE, NO_LEARNING_UNCLEAR_CODE];

/** Whether a diagnostic is one of the verdict's (the quick fixes' business). */
export function isVerdictDiagnostic(d: vscode.Diagnostic): boolean {
  return d.source === SOURCE && VERDICT_CODES.includes(d.code);
}

/** The layer a lagging-layer diagnostic names. */
export function layerOfDiagnostic(d: vscode.Diagnostic): string | undefined {
  return /^Layer '([^']+)'/.exec(d.message)?.[1];
}

function rangeOf(doc: vscode.TextDocument, offset: number, length: number): vscode.Range {
  return new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + Math.max(length, 1)));
}

export class Diagnostics implements vscode.Disposable {
  private readonly configErrors = vscode.languages.createDiagnosticCollection('layerRotation.config');
  private readonly lagging = vscode.languages.createDiagnosticCollection('layerRotation.lagging');
  private readonly disposables: vscode.Disposable[] = [];
  private pending: NodeJS.Timeout | undefined;

  /** Lagging warnings follow each config's newest run, by its own target and lagMargin (run_started's). */
  constructor(private readonly runs: RunManager) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.validate(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.validate(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => this.configErrors.delete(d.uri)),
      runs.onDidAppend(() => this.scheduleLagging()),
      runs.onDidChange(() => this.scheduleLagging()),
    );
    vscode.workspace.textDocuments.forEach((d) => this.validate(d));
    this.updateLagging();
  }

  validate(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc)) return;
    const result = parseConfigText(doc.getText(), doc.fileName);
    this.configErrors.set(
      doc.uri,
      result.errors.map((e) => {
        const d = new vscode.Diagnostic(
          rangeOf(doc, e.offset, e.length),
          e.message,
          e.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
        );
        d.source = SOURCE;
        return d;
      }),
    );
  }

  /** Lagging warnings change with every rotation record: recompute at most a few times a second. */
  private scheduleLagging(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.updateLagging();
    }, 300);
  }

  async updateLagging(): Promise<void> {
    const byConfig = new Map<string, Run>();
    for (const run of this.runs.all) {
      const file = run.log.started?.configFile;
      if (file && !byConfig.has(path.resolve(file))) byConfig.set(path.resolve(file), run); // newest first
    }
    const next = new Map<string, vscode.Diagnostic[]>();
    for (const [file, run] of byConfig) {
      let doc: vscode.TextDocument;
      try {
        doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      } catch {
        continue; // the config is gone
      }
      const problems = configLagProblems(run.log, doc.getText());
      if (!problems.length) continue;
      next.set(
        file,
        problems.map((p) => {
          const d = new vscode.Diagnostic(
            rangeOf(doc, p.offset, p.length),
            p.message,
            p.severity === 'warning' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information,
          );
          d.source = SOURCE;
          d.code = p.code;
          return d;
        }),
      );
    }
    this.lagging.clear();
    for (const [file, diags] of next) this.lagging.set(vscode.Uri.file(file), diags);
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.configErrors.dispose();
    this.lagging.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
