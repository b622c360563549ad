// Quick fixes for lagging layers, as real edits of the config: turn on Layca, raise the lagging
// layer's learning rate (per-layer multiplier), raise the whole run's learning rate, or set the
// paper's alpha so that the lagging end of the network rotates faster. Every edit keeps the file
// valid JSON (jsonc-parser's modify) and valid against the schema.
import { findNodeAtLocation, getNodeValue, modify, type Node, parseTree } from 'jsonc-parser';
import * as vscode from 'vscode';
import { kernelLayerNames, parseConfigText } from '../engine/config/validate';
import { LAGGING_CODE, layerOfDiagnostic } from './diagnostics';

export const RAISE_FACTOR = 3;

function valueAt(tree: Node | undefined, path: (string | number)[]): unknown {
  const node = tree && findNodeAtLocation(tree, path);
  return node ? getNodeValue(node) : undefined;
}

/** Edits that set `path` to `value` in the document, as a WorkspaceEdit. */
export function setValueEdit(
  doc: vscode.TextDocument,
  path: (string | number)[],
  value: unknown,
): vscode.WorkspaceEdit {
  const edits = modify(doc.getText(), path, value, { formattingOptions: { insertSpaces: true, tabSize: 2 } });
  const we = new vscode.WorkspaceEdit();
  for (const e of edits)
    we.replace(doc.uri, new vscode.Range(doc.positionAt(e.offset), doc.positionAt(e.offset + e.length)), e.content);
  return we;
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}

export class LaggingLayerFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(
    doc: vscode.TextDocument,
    _range: vscode.Range,
    context: vscode.CodeActionContext,
  ): vscode.CodeAction[] {
    const lagging = context.diagnostics.filter((d) => d.code === LAGGING_CODE);
    if (!lagging.length) return [];
    const checked = parseConfigText(doc.getText(), doc.fileName);
    if (!checked.ok) return []; // fix the config errors first
    const config = checked.config;
    const tree = parseTree(doc.getText());
    const actions: vscode.CodeAction[] = [];
    const add = (title: string, edit: vscode.WorkspaceEdit, diagnostics: vscode.Diagnostic[], preferred = false) => {
      const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
      a.edit = edit;
      a.diagnostics = diagnostics;
      a.isPreferred = preferred;
      actions.push(a);
    };

    if (!config.optimizer.layca) {
      add(
        'Turn on Layca for the optimizer (every layer rotates at the controlled rate)',
        setValueEdit(doc, ['optimizer', 'layca'], true),
        lagging,
        true,
      );
    }
    const names = kernelLayerNames(config.model);
    for (const d of lagging) {
      const layer = layerOfDiagnostic(d);
      if (!layer) continue;
      const index = names.indexOf(layer);
      const explicit = config.optimizer.layerMultipliers;
      if (Array.isArray(explicit) && index >= 0) {
        const next = round((explicit[index] ?? 1) * RAISE_FACTOR);
        add(
          `Raise the learning rate of '${layer}' ${RAISE_FACTOR}x (layerMultipliers[${index}] = ${next})`,
          setValueEdit(doc, ['optimizer', 'layerMultipliers', index], next),
          [d],
        );
      } else if (index >= 0) {
        const current = valueAt(tree, ['optimizer', 'layerMultipliers', layer]);
        const next = round((typeof current === 'number' ? current : 1) * RAISE_FACTOR);
        const edit = explicit
          ? setValueEdit(doc, ['optimizer', 'layerMultipliers', layer], next)
          : setValueEdit(doc, ['optimizer', 'layerMultipliers'], { [layer]: next });
        add(`Raise the learning rate of '${layer}' ${RAISE_FACTOR}x (layerMultipliers.${layer} = ${next})`, edit, [d]);
      }
    }
    const lr = round(config.optimizer.learningRate * RAISE_FACTOR);
    add(
      `Raise the learning rate of the whole run ${RAISE_FACTOR}x (learningRate = ${lr})`,
      setValueEdit(doc, ['optimizer', 'learningRate'], lr),
      lagging,
    );

    // alpha: when the lagging layers are the early ones, make early layers faster relative to
    // late ones (alpha < 0); when they are the late ones, the opposite (alpha > 0).
    const lagIdx = lagging.map((d) => names.indexOf(layerOfDiagnostic(d) ?? '')).filter((i) => i >= 0);
    if (lagIdx.length && names.length > 1) {
      const meanPos = lagIdx.reduce((a, b) => a + b, 0) / lagIdx.length / (names.length - 1);
      const alpha = meanPos < 0.5 ? -0.5 : 0.5;
      if (config.optimizer.alpha !== alpha) {
        const which =
          alpha < 0 ? 'early layers rotate faster than late ones' : 'late layers rotate faster than early ones';
        add(`Set alpha to ${alpha} (${which})`, setValueEdit(doc, ['optimizer', 'alpha'], alpha), lagging);
      }
    }
    return actions;
  }
}
