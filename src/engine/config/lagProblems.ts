// The verdict's diagnostics without the editor: which problems, their message, severity and place
// (the config node they are about, or the run log's first line), and which quick fixes fit them.
// The verdict is src/runlog/verdict.ts's; src/vscode/diagnostics.ts and logDiagnostics.ts map the
// problems to vscode.Diagnostic, src/vscode/quickfix.ts the fix offers to edits.
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import type { TrainingConfig } from './types';
import { kernelLayerNames } from './layers';
import {
  judgeLog,
  type LayerVerdict,
  type LogLike,
  lagMessage,
  type RunVerdict,
  runMessage,
} from '../../runlog/verdict';

/** The diagnostic code of a lagging-layer problem (the quick fixes key on the codes). */
export const LAG_CODE = 'lagging-layer';
/** A finished run that did not fit its training data: its rotation is not judged. */
export const NOT_FIT_CODE = 'not-fit';
/** A finished run that did not learn though its layers rotated (diverged, or at chance): the rate is too high. */
export const NO_LEARNING_CODE = 'no-learning';
/** A finished run at chance whose layers did not rotate either: no advice on the rate. */
export const NO_LEARNING_UNCLEAR_CODE = 'no-learning-unclear';
export type ProblemCode =
  | typeof LAG_CODE
  | typeof NOT_FIT_CODE
  | typeof NO_LEARNING_CODE
  | typeof NO_LEARNING_UNCLEAR_CODE;

/** What to do about a lagging layer of a config (its quick fixes do these); never a higher rate with Layca. */
export function configRemedy(layca: boolean): string {
  return layca
    ? 'Sweep the budget to measure it (quick fix), or train longer, or decay later.'
    : 'Sweep the budget to measure it (quick fix), or turn on Layca, or train longer.';
}

/** What to do about a lagging layer of a training script (the Python logger's per-layer multipliers without Layca). */
export function scriptRemedy(layer: string, layca: boolean): string {
  return layca
    ? 'Compare runs trained longer, or with the learning rate decayed later.'
    : `Compare runs with a higher rate for it (a per-layer multiplier, e.g. layca_param_groups(multipliers={'${layer}': 2})) or trained longer.`;
}

export interface LagProblem {
  code: ProblemCode;
  /**
   * Warning for a run that did not learn; Information otherwise: a run not fit yet, and a lagging
   * layer, running or finished (one run is an indicator, not evidence: docs/evidence.md).
   */
  severity: 'warning' | 'information';
  /** The lagging layer (code lagging-layer). */
  layer?: LayerVerdict;
  message: string;
}

export interface ConfigLagProblem extends LagProblem {
  /** The range of the JSON node the problem is about (else `model`; else the first character). */
  offset: number;
  length: number;
}

export interface LogLagProblem extends LagProblem {
  /** 1-based line of the run log. */
  line: number;
}

/** The problems of a verdict, before they are placed: one per lagging layer, or one for the run. */
function problemsOf(v: RunVerdict, remedy: (layer: string) => string): LagProblem[] {
  const run = runMessage(v);
  if (run)
    return [
      {
        code:
          v.run === 'not-fit' ? NOT_FIT_CODE : v.noLearning?.rateTooHigh ? NO_LEARNING_CODE : NO_LEARNING_UNCLEAR_CODE,
        severity: v.run === 'no-learning' ? 'warning' : 'information',
        message: run,
      },
    ];
  return v.layers
    .filter((l) => l.lagging)
    .map((layer) => ({
      code: LAG_CODE,
      severity: 'information',
      layer,
      message: lagMessage(layer, v, remedy(layer.name)),
    }));
}

/** The problems of the run of a config (finished, or on course while it runs), on the config's text. */
export function configLagProblems(log: LogLike, configText: string): ConfigLagProblem[] {
  const verdict = judgeLog(log);
  if (!verdict) return [];
  const layca = log.started?.schedule?.layca === true;
  const problems = problemsOf(verdict, () => configRemedy(layca));
  if (!problems.length) return [];
  const tree = parseTree(configText);
  return problems.map((p) => {
    const path: (string | number)[] = p.layer
      ? (log.started?.layers[p.layer.index]?.configPath ?? ['model'])
      : p.code === NOT_FIT_CODE
        ? ['schedule', 'epochs']
        : p.code === NO_LEARNING_CODE
          ? ['optimizer', 'learningRate']
          : ['model'];
    const node = tree && (findNodeAtLocation(tree, path) ?? findNodeAtLocation(tree, ['model']));
    return { ...p, offset: node ? node.offset : 0, length: node ? node.length : 1 };
  });
}

/** The problems of a finished run that has no config (a script's), on the log's first line. */
export function logLagProblems(log: LogLike): LogLagProblem[] {
  const verdict = log.finished ? judgeLog(log) : undefined;
  if (!verdict) return [];
  const layca = log.started?.schedule?.layca === true;
  return problemsOf(verdict, (layer) => scriptRemedy(layer, layca)).map((p) => ({ ...p, line: 1 }));
}

// Quick fixes: which to offer, as edits of the config (path, value). Never a higher learning rate
// for the run (3x the default SGD-Layca rate diverges on the default example), and a higher rate
// for one layer only without Layca, with SGD.

/** How much "raise a layer's rate", "train longer" and "lower the rate" change things. */
export const RAISE_FACTOR = 3;
export const LONGER_FACTOR = 2;
export const LOWER_FACTOR = 3;
/** The alpha the quick fix offers: early layers faster (the only direction the evidence backs). */
export const EARLY_FASTER_ALPHA = -0.5;

export interface FixEdit {
  path: (string | number)[];
  value: unknown;
}

export interface FixOffer {
  title: string;
  edits: FixEdit[];
  /** Indices, in the problems given, of the problems it fixes. */
  fixes: number[];
  preferred: boolean;
}

/** A problem as the quick fixes see it: its code, and the layer it names. */
export interface FixableProblem {
  code: string;
  layer?: string;
}

const round = (x: number) => Number(x.toPrecision(4));

/** Decay epochs moved (strictly increasing integers in [1, epochs)), or undefined when that is not possible or no change. */
function movedDecay(decay: number[], epochs: number, move: (e: number) => number): number[] | undefined {
  const next = decay.map(move);
  const ok = next.every((e, i) => Number.isInteger(e) && e >= 1 && e < epochs && (i === 0 || e > next[i - 1]));
  return ok && next.some((e, i) => e !== decay[i]) ? next : undefined;
}

/** The quick fixes for the given problems of a config's run. */
export function fixOffers(config: TrainingConfig, problems: FixableProblem[]): FixOffer[] {
  const idx = (codes: string[]) => problems.flatMap((p, i) => (codes.includes(p.code) ? [i] : []));
  const lag = idx([LAG_CODE]);
  const slow = idx([LAG_CODE, NOT_FIT_CODE]);
  const unlearnt = idx([NO_LEARNING_CODE]);
  const { optimizer: opt, schedule } = config;
  const decay = schedule.decay?.epochs;
  const offers: FixOffer[] = [];
  const offer = (title: string, edits: FixEdit[], fixes: number[], preferred = false) => {
    if (fixes.length) offers.push({ title, edits, fixes, preferred });
  };

  if (!opt.layca)
    offer(
      'Turn on Layca for the optimizer (every layer rotates at the controlled rate)',
      [{ path: ['optimizer', 'layca'], value: true }],
      lag,
    );
  const names = kernelLayerNames(config.model);
  if (!opt.layca && opt.type === 'sgd') {
    for (const i of lag) {
      const layer = problems[i].layer;
      const index = layer ? names.indexOf(layer) : -1;
      if (!layer || index < 0) continue;
      const explicit = opt.layerMultipliers;
      if (Array.isArray(explicit)) {
        const next = round((explicit[index] ?? 1) * RAISE_FACTOR);
        offer(
          `Raise the learning rate of '${layer}' ${RAISE_FACTOR}x (layerMultipliers[${index}] = ${next})`,
          [{ path: ['optimizer', 'layerMultipliers', index], value: next }],
          [i],
        );
      } else {
        const next = round((explicit?.[layer] ?? 1) * RAISE_FACTOR);
        offer(
          `Raise the learning rate of '${layer}' ${RAISE_FACTOR}x (layerMultipliers.${layer} = ${next})`,
          [
            explicit
              ? { path: ['optimizer', 'layerMultipliers', layer], value: next }
              : { path: ['optimizer', 'layerMultipliers'], value: { [layer]: next } },
          ],
          [i],
        );
      }
    }
  }

  // Measure before changing: the same config over two budgets and three seeds, as a sweep (a
  // config that is a sweep already has its comparison).
  if (!config.sweep) {
    const scaled = (f: number) => {
      const s = JSON.parse(JSON.stringify(schedule));
      s.epochs = schedule.epochs * f;
      if (decay && s.decay) s.decay.epochs = decay.map((e) => e * f);
      return s;
    };
    const seeds = [config.seed, config.seed + 1, config.seed + 2];
    offer(
      `Sweep the budget: ${schedule.epochs} and ${schedule.epochs * LONGER_FACTOR} epochs${decay ? ' (decays scaled)' : ''}, seeds ${seeds.join(', ')}`,
      [{ path: ['sweep'], value: { schedule: [scaled(1), scaled(LONGER_FACTOR)], seed: seeds } }],
      lag,
      true,
    );
  }

  const epochs = schedule.epochs * LONGER_FACTOR;
  const longerDecay = decay?.map((e) => e * LONGER_FACTOR);
  offer(
    `Train longer: ${LONGER_FACTOR}x the epochs (schedule.epochs = ${epochs}${longerDecay ? `, decay at ${longerDecay.join(', ')}` : ''})`,
    [
      { path: ['schedule', 'epochs'], value: epochs },
      ...(longerDecay ? [{ path: ['schedule', 'decay', 'epochs'], value: longerDecay }] : []),
    ],
    slow,
    lag.length === 0,
  );
  // Decay later: each decay halfway to the end (the rate stays high longer).
  const later = decay && movedDecay(decay, schedule.epochs, (e) => e + Math.floor((schedule.epochs - e) / 2));
  if (later)
    offer(
      `Decay later (schedule.decay.epochs = [${later.join(', ')}])`,
      [{ path: ['schedule', 'decay', 'epochs'], value: later }],
      slow,
    );

  // alpha: when the lagging layers are the early ones (or all of them), make early layers turn
  // faster than late ones (alpha < 0). Never the other way: on the MNIST MLP, alpha 0.6 (early
  // layers slower) lost 2.2 points of test accuracy and alpha -0.6 gained 0.9 (docs/evidence.md).
  const lagIdx = lag.map((i) => names.indexOf(problems[i].layer ?? '')).filter((i) => i >= 0);
  if (lagIdx.length && names.length > 1) {
    const meanPos = lagIdx.reduce((a, b) => a + b, 0) / lagIdx.length / (names.length - 1);
    const alpha = EARLY_FASTER_ALPHA;
    if (meanPos <= 0.5 && opt.alpha !== alpha)
      offer(
        `Set alpha to ${alpha} (early layers rotate faster than late ones)`,
        [{ path: ['optimizer', 'alpha'], value: alpha }],
        lag,
      );
  }

  // A run that did not learn while its layers rotated: a lower rate, or an earlier decay.
  const lr = round(opt.learningRate / LOWER_FACTOR);
  offer(
    `Lower the learning rate ${LOWER_FACTOR}x (learningRate = ${lr})`,
    [{ path: ['optimizer', 'learningRate'], value: lr }],
    unlearnt,
    true,
  );
  const earlier = decay && movedDecay(decay, schedule.epochs, (e) => Math.max(1, Math.floor(e / 2)));
  if (earlier)
    offer(
      `Decay earlier (schedule.decay.epochs = [${earlier.join(', ')}])`,
      [{ path: ['schedule', 'decay', 'epochs'], value: earlier }],
      unlearnt,
    );
  return offers;
}
