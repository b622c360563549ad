// Learning-rate schedules (linear warmup, step decay) and per-layer multipliers (the paper's
// alpha parametrization and explicit values), and the param groups they make. The rate at a
// point of training is src/runlog/schedule.ts's learningRateAt (readers of run logs use it too).
import type { OptimizerSpec } from '../config/types';
import type { Param } from '../models';
import type { ParamGroup } from './optimizers';

/**
 * The paper's alpha multipliers over L kernel layers in forward order.
 * alpha > 0: the last layer's is 1, each earlier one (1 - alpha)^(5/(L-1)) times smaller;
 * alpha < 0: the first layer's is 1, each later one (1 + alpha)^(5/(L-1)) times smaller.
 */
export function alphaMultipliers(alpha: number, layers: number): number[] {
  if (alpha === 0 || layers <= 1) return Array.from({ length: layers }, () => 1);
  const step = 5 / (layers - 1);
  return Array.from({ length: layers }, (_, l) =>
    alpha > 0 ? (1 - alpha) ** (step * (layers - 1 - l)) : (1 + alpha) ** (step * l),
  );
}

/** Alpha multipliers times explicit ones (an array in forward order, or by layer name). */
export function layerMultipliers(
  spec: Pick<OptimizerSpec, 'alpha' | 'layerMultipliers'>,
  layerNames: string[],
): number[] {
  const m = alphaMultipliers(spec.alpha, layerNames.length);
  const explicit = spec.layerMultipliers;
  if (Array.isArray(explicit)) {
    if (explicit.length !== layerNames.length) {
      throw new Error(
        `optimizer.layerMultipliers has ${explicit.length} values but the model has ${layerNames.length} kernel layers`,
      );
    }
    return m.map((v, i) => v * explicit[i]);
  }
  if (explicit) {
    for (const name of Object.keys(explicit)) {
      if (!layerNames.includes(name))
        throw new Error(
          `optimizer.layerMultipliers names '${name}', which is not a kernel layer of the model (${layerNames.join(', ')})`,
        );
    }
    return m.map((v, i) => v * (explicit[layerNames[i]] ?? 1));
  }
  return m;
}

/**
 * torch.optim-style param groups: one per kernel layer (its multiplier, weight decay, Layca),
 * with the layer's bias in the same group but never Layca'd nor decayed, and one group for
 * batch-norm parameters. Layca and weight decay apply to kernels only.
 */
export function paramGroups(params: Param[], spec: OptimizerSpec, multipliers: number[]): ParamGroup[] {
  const groups: ParamGroup[] = [];
  multipliers.forEach((mult, layer) => {
    const kernels = params.filter((p) => p.layer === layer && p.role === 'kernel').map((p) => p.variable);
    const biases = params.filter((p) => p.layer === layer && p.role === 'bias').map((p) => p.variable);
    groups.push({ params: kernels, lrMultiplier: mult, weightDecay: spec.weightDecay, layca: spec.layca });
    if (biases.length) groups.push({ params: biases, lrMultiplier: mult, weightDecay: 0, layca: false });
  });
  const norms = params.filter((p) => p.layer < 0).map((p) => p.variable);
  if (norms.length) groups.push({ params: norms, lrMultiplier: 1, weightDecay: 0, layca: false });
  return groups;
}
