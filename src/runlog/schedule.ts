// The learning rate at a point of training, as both engines compute it and as readers of a run
// log (run_started.schedule) recompute it: linear warmup, then step decay. Pure.

export interface DecaySpec {
  factor: number;
  epochs: number[];
}

export interface RateSchedule {
  decay?: DecaySpec;
  warmupEpochs: number;
}

/**
 * The learning rate at a point of training, `epoch` being fractional (step / stepsPerEpoch).
 * Warmup ramps linearly from 0 to the base rate over `warmupEpochs`; step decay multiplies by
 * `factor` at each listed epoch that has been reached.
 */
export function learningRateAt(base: number, schedule: RateSchedule, epoch: number): number {
  let lr = base;
  if (schedule.decay) {
    for (const e of schedule.decay.epochs) if (epoch >= e) lr *= schedule.decay.factor;
  }
  if (schedule.warmupEpochs > 0 && epoch < schedule.warmupEpochs) {
    lr *= Math.max(epoch, 0) / schedule.warmupEpochs;
  }
  return lr;
}
