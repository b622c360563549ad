// Diagnostics on *.layerrot.json files: config errors while typing (the CLI's validator, at the
// exact ranges; long texts checked in a worker thread, src/engine/config/checker.ts), and, during and after a run, the verdict's problems (src/engine/config/lagProblems.ts):
// one per lagging layer at the JSON node that defines it (Information: one run is an indicator, a
// comparison is evidence), or one for a run that did not fit (Information) or did not learn (Warning).
// They stand while the config says what it said when the run started (its copy in the run folder,
// resolved, against the text now, resolved: src/engine/config/configChange.ts); once the config
// changed, each is a Hint naming the run and the values it came from (code STALE_CODE: no quick
// fix), and an edit back to the run's values brings them back.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { staleMessage } from '../engine/config/configChange';
import { ConfigChecker } from '../engine/config/checker';
import type { ConfigError } from '../engine/config/types';
import {
  configLagProblems,
  LAG_CODE,
  NO_LEARNING_CODE,
  NO_LEARNING_UNCLEAR_CODE,
  NOT_FIT_CODE,
} from '../engine/config/lagProblems';
import { problemText } from '../runlog/sanitize';
import type { Run, RunManager } from './runs';

export const CONFIG_GLOB = '**/*.layerrot.json';
export const SOURCE = 'Layer Rotation';

export function isConfigDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' && doc.fileName.endsWith('.layerrot.json');
}

/** The code of a verdict diagnostic of a run whose config changed since (a Hint). */
export const STALE_CODE = 'from-earlier-config';

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

  private readonly checker: ConfigChecker;

  /**
   * Lagging warnings follow each config's newest run, by its own target and lagMargin (run_started's).
   * `checkWorker`: the bundled config checker (dist/configCheck.js) that checks long texts.
   */
  constructor(
    private readonly runs: RunManager,
    checkWorker: string,
  ) {
    this.checker = new ConfigChecker(checkWorker);
    this.disposables.push(
      this.checker,
      vscode.workspace.onDidOpenTextDocument((d) => this.validate(d)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        this.validate(e.document);
        this.updateVerdictOf(e.document);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => this.configErrors.delete(d.uri)),
      runs.onDidAppend(() => this.scheduleLagging()),
      runs.onDidChange(() => this.scheduleLagging()),
    );
    vscode.workspace.textDocuments.forEach((d) => this.validate(d));
    this.updateLagging();
  }

  /** Checks a config's text (long texts off this thread: checker.ts) and shows its problems. */
  validate(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc)) return;
    const version = doc.version;
    void this.checker.check(doc.getText(), doc.fileName).then((errors) => {
      // A newer check of this document counts, or it was closed meanwhile.
      if (!errors || doc.isClosed || doc.version !== version) return;
      this.showConfigErrors(doc, errors);
    });
  }

  private showConfigErrors(doc: vscode.TextDocument, errors: ConfigError[]): void {
    this.configErrors.set(
      doc.uri,
      errors.map((e) => {
        const d = new vscode.Diagnostic(
          rangeOf(doc, e.offset, e.length),
          problemText(e.message),
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

  /** The newest run of each config (by its absolute path). */
  private newestRuns(): Map<string, Run> {
    const byConfig = new Map<string, Run>();
    for (const run of this.runs.all) {
      const file = run.log.started?.configFile;
      if (file && !byConfig.has(path.resolve(file))) byConfig.set(path.resolve(file), run); // newest first
    }
    return byConfig;
  }

  /**
   * The verdict diagnostics of a config's newest run on the config's text now: as the verdict
   * says them while the config is the run's, Hints naming the run and its values once it changed.
   */
  private verdictDiagnostics(doc: vscode.TextDocument, run: Run): vscode.Diagnostic[] {
    const text = doc.getText();
    const problems = configLagProblems(run.log, text);
    if (!problems.length) return [];
    const change = this.runs.configChange(run, text);
    const stale = change?.changed ? change : undefined;
    return problems.map((p) => {
      const d = new vscode.Diagnostic(
        rangeOf(doc, p.offset, p.length),
        problemText(stale ? staleMessage(run.runId, stale, p.message) : p.message),
        stale
          ? vscode.DiagnosticSeverity.Hint
          : p.severity === 'warning'
            ? vscode.DiagnosticSeverity.Warning
            : vscode.DiagnosticSeverity.Information,
      );
      d.source = SOURCE;
      d.code = stale ? STALE_CODE : p.code;
      return d;
    });
  }

  /** A config edited: its run's diagnostics follow the text at once (stale, or standing again). */
  private updateVerdictOf(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc)) return;
    const run = this.runs.latestFor(doc.fileName);
    if (!run) return;
    const diags = this.verdictDiagnostics(doc, run);
    if (diags.length) this.lagging.set(doc.uri, diags);
    else this.lagging.delete(doc.uri);
  }

  async updateLagging(): Promise<void> {
    const next = new Map<string, vscode.Diagnostic[]>();
    for (const [file, run] of this.newestRuns()) {
      let doc: vscode.TextDocument;
      try {
        doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      } catch {
        continue; // the config is gone
      }
      const diags = this.verdictDiagnostics(doc, run);
      if (diags.length) next.set(file, diags);
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
