// The lagging-layer warnings of the editor, without the editor: which layers, which message and
// where (the config node that defines the layer, or the run log's first line). The verdict is
// src/runlog/verdict.ts's; src/vscode/diagnostics.ts and logDiagnostics.ts map these to
// vscode.Diagnostic.
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { judgeLog, lagMessage, type LayerVerdict, type LogLike } from './verdict';

/** The diagnostic code of a lagging-layer warning (the quick fixes key on it). */
export const LAG_CODE = 'lagging-layer';

/** What to do about a lagging layer of a config (its quick fixes do these). */
export const CONFIG_REMEDY = 'Turn on Layca, or raise its learning rate.';

/** What to do about a lagging layer of a training script (the Python logger's per-layer multipliers). */
export function scriptRemedy(layer: string): string {
  return `Raise its learning rate (a per-layer multiplier, e.g. layca_param_groups(multipliers={'${layer}': 2})) or train longer.`;
}

export interface LagProblem {
  layer: LayerVerdict;
  message: string;
}

export interface ConfigLagProblem extends LagProblem {
  /** The range of the JSON node that defines the layer (else `model`; else the first character). */
  offset: number;
  length: number;
}

export interface LogLagProblem extends LagProblem {
  /** 1-based line of the run log. */
  line: number;
}

/** The lagging layers of the run of a config (finished, or on course while it runs), on the config's text. */
export function configLagProblems(log: LogLike, configText: string): ConfigLagProblem[] {
  const verdict = judgeLog(log);
  if (!verdict) return [];
  const lagging = verdict.layers.filter((l) => l.lagging);
  if (!lagging.length) return [];
  const tree = parseTree(configText);
  return lagging.map((layer) => {
    const path = log.started?.layers[layer.index]?.configPath ?? ['model'];
    const node = tree && (findNodeAtLocation(tree, path) ?? findNodeAtLocation(tree, ['model']));
    return {
      layer,
      message: lagMessage(layer, verdict, CONFIG_REMEDY),
      offset: node ? node.offset : 0,
      length: node ? node.length : 1,
    };
  });
}

/** The lagging layers of a finished run that has no config (a script's), on the log's first line. */
export function logLagProblems(log: LogLike): LogLagProblem[] {
  const verdict = log.finished ? judgeLog(log) : undefined;
  if (!verdict) return [];
  return verdict.layers
    .filter((l) => l.lagging)
    .map((layer) => ({ layer, message: lagMessage(layer, verdict, scriptRemedy(layer.name)), line: 1 }));
}
