// SGD (momentum, Nesterov), Adam, RMSprop and Adagrad, written out so that the step each one
// computes is available to Layca. Parameters are organized in param groups as in torch.optim:
// each group has its own learning-rate multiplier, weight decay and Layca switch.
import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSpec, OptimizerType } from '../config/types';
import { laycaUpdate } from './layca';

export interface ParamGroup {
  params: tf.Variable[];
  /** Multiplies the scheduled learning rate for this group (per-layer multipliers, alpha). */
  lrMultiplier: number;
  /** L2 weight decay, added to the gradient as weightDecay * w. */
  weightDecay: number;
  /** Turn the parameters with Layca instead of subtracting the step. */
  layca: boolean;
}

/** Per-parameter optimizer state (momentum buffers, moment estimates, accumulators). */
type SlotState = Map<tf.Variable, tf.Variable[]>;

export abstract class Optimizer {
  /** Steps taken so far (Adam's t). */
  iterations = 0;
  protected readonly state: SlotState = new Map();

  constructor(
    readonly paramGroups: ParamGroup[],
    protected readonly spec: OptimizerSpec,
  ) {}

  /** Number of state slots per parameter. */
  protected abstract slotCount(): number;
  /** Initial value of the state slots. */
  protected slotInit(_p: tf.Variable): tf.Tensor {
    return tf.zerosLike(_p);
  }

  /** Update the state for gradient g of parameter p and return the step direction (before the learning rate). */
  protected abstract direction(g: tf.Tensor, slots: tf.Variable[], t: number): tf.Tensor;

  /** One optimizer step: `grads` maps each parameter's variable name to its gradient; `lr` is the scheduled rate. */
  step(grads: Record<string, tf.Tensor>, lr: number): void {
    this.iterations++;
    const t = this.iterations;
    tf.tidy(() => {
      for (const group of this.paramGroups) {
        const rate = lr * group.lrMultiplier;
        for (const p of group.params) {
          let g = grads[p.name];
          if (!g) continue;
          if (group.weightDecay > 0) g = tf.add(g, tf.mul(p, group.weightDecay));
          const s = this.direction(g, this.slotsFor(p), t);
          p.assign(group.layca ? laycaUpdate(p, s, rate) : tf.sub(p, tf.mul(s, rate)));
        }
      }
    });
  }

  private slotsFor(p: tf.Variable): tf.Variable[] {
    let slots = this.state.get(p);
    if (!slots) {
      slots = tf.tidy(() => Array.from({ length: this.slotCount() }, () => tf.variable(this.slotInit(p), false)));
      this.state.set(p, slots);
    }
    return slots;
  }

  dispose(): void {
    for (const slots of this.state.values()) for (const v of slots) v.dispose();
    this.state.clear();
  }
}

/** torch.optim.SGD's form: buf = momentum * buf + g; step = buf, or g + momentum * buf with Nesterov. */
export class Sgd extends Optimizer {
  protected slotCount(): number {
    return this.spec.momentum > 0 ? 1 : 0;
  }
  protected direction(g: tf.Tensor, slots: tf.Variable[]): tf.Tensor {
    const m = this.spec.momentum;
    if (m === 0) return g;
    const buf = slots[0];
    buf.assign(tf.add(tf.mul(buf, m), g));
    return this.spec.nesterov ? tf.add(g, tf.mul(buf, m)) : buf;
  }
}

/** Adam with bias correction: step = m_hat / (sqrt(v_hat) + eps). */
export class Adam extends Optimizer {
  protected slotCount(): number {
    return 2;
  }
  protected direction(g: tf.Tensor, [m, v]: tf.Variable[], t: number): tf.Tensor {
    const { beta1: b1, beta2: b2, epsilon } = this.spec;
    m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
    v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
    const mHat = tf.div(m, 1 - b1 ** t);
    const vHat = tf.div(v, 1 - b2 ** t);
    return tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
  }
}

/** RMSprop: v = rho * v + (1 - rho) g^2; step = g / (sqrt(v) + eps). */
export class Rmsprop extends Optimizer {
  protected slotCount(): number {
    return 1;
  }
  protected direction(g: tf.Tensor, [v]: tf.Variable[]): tf.Tensor {
    const { rho, epsilon } = this.spec;
    v.assign(tf.add(tf.mul(v, rho), tf.mul(tf.square(g), 1 - rho)));
    return tf.div(g, tf.add(tf.sqrt(v), epsilon));
  }
}

/** Adagrad: acc += g^2; step = g / (sqrt(acc) + eps). */
export class Adagrad extends Optimizer {
  protected slotCount(): number {
    return 1;
  }
  protected slotInit(p: tf.Variable): tf.Tensor {
    return tf.fill(p.shape, this.spec.initialAccumulatorValue);
  }
  protected direction(g: tf.Tensor, [acc]: tf.Variable[]): tf.Tensor {
    acc.assign(tf.add(acc, tf.square(g)));
    return tf.div(g, tf.add(tf.sqrt(acc), this.spec.epsilon));
  }
}

const optimizers: Record<OptimizerType, new (groups: ParamGroup[], spec: OptimizerSpec) => Optimizer> = {
  sgd: Sgd,
  adam: Adam,
  rmsprop: Rmsprop,
  adagrad: Adagrad,
};

export function createOptimizer(spec: OptimizerSpec, groups: ParamGroup[]): Optimizer {
  return new optimizers[spec.type](groups, spec);
}
