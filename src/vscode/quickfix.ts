// Quick fixes for the verdict's problems, as real edits of the config. Which fixes fit which
// problems is decided by fixOffers (src/engine/config/lagProblems.ts, no editor); this maps them to
// edits that keep the file valid JSON (jsonc-parser's modify) and valid against the schema.
import { modify } from 'jsonc-parser';
import * as vscode from 'vscode';
import { parseConfigText } from '../engine/config/validate';
import { fixOffers } from '../engine/config/lagProblems';
import { isVerdictDiagnostic, layerOfDiagnostic } from './diagnostics';

/** Edits that set each `path` to its `value` in the document, as one WorkspaceEdit. */
export function setValuesEdit(
  doc: vscode.TextDocument,
  changes: { path: (string | number)[]; value: unknown }[],
): vscode.WorkspaceEdit {
  let text = doc.getText();
  // Each change is applied to the text the previous ones made.
  for (const c of changes) {
    const edits = modify(text, c.path, c.value, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
    for (const e of [...edits].sort((a, b) => b.offset - a.offset))
      text = text.slice(0, e.offset) + e.content + text.slice(e.offset + e.length);
  }
  // One replacement of the span that changed (between the common prefix and suffix).
  const old = doc.getText();
  let start = 0;
  while (start < old.length && start < text.length && old[start] === text[start]) start++;
  let end = 0;
  while (
    end < old.length - start &&
    end < text.length - start &&
    old[old.length - 1 - end] === text[text.length - 1 - end]
  )
    end++;
  const we = new vscode.WorkspaceEdit();
  we.replace(
    doc.uri,
    new vscode.Range(doc.positionAt(start), doc.positionAt(old.length - end)),
    text.slice(start, text.length - end),
  );
  return we;
}

export class LaggingLayerFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(
    doc: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
  ): vscode.CodeAction[] {
    const diagnostics = context.diagnostics.filter(isVerdictDiagnostic);
    if (!diagnostics.length) return [];
    const checked = parseConfigText(doc.getText(), doc.fileName);
    if (!checked.ok) return []; // fix the config errors first
    const offers = fixOffers(
      checked.config,
      diagnostics.map((d) => ({ code: String(d.code), layer: layerOfDiagnostic(d) })),
    );
    return offers.map((o) => {
      const a = new vscode.CodeAction(o.title, vscode.CodeActionKind.QuickFix);
      a.edit = setValuesEdit(doc, o.edits);
      a.diagnostics = o.fixes.map((i) => diagnostics[i]);
      a.isPreferred = o.preferred;
      return a;
    });
  }
}
