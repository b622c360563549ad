// The tfjs engine's first-layer features snapshots (the `features` event, src/runlog/features.ts):
// when the first kernel layer's input is an image, its first units are read from the device (a
// slice of the kernel: one read of at most 64 units), quantized and emitted at step 0, at epoch
// ends (featuresDue) and at the run's end.
import * as tf from '@tensorflow/tfjs-core';
import type { FeaturesEvent } from '../runlog/events';
import {
  type FeatureImage,
  featureImage,
  featureUnits,
  featuresDue,
  featuresEvent,
  unitsFromKernel,
} from '../runlog/features';
import type { KernelLayerInfo } from './models';

export class FeatureSnapshots {
  /** The step of the last snapshot made (-1: none yet). */
  lastStep = -1;

  private constructor(
    private readonly layer: KernelLayerInfo,
    private readonly kernel: tf.Variable,
    readonly image: FeatureImage,
    readonly units: number,
  ) {}

  /**
   * Snapshots of the model's first kernel layer, or undefined when its input is not an image
   * (`sampleShape`: one sample's shape before any flattening, [h, w, c] for images) or not one
   * unit fits the size bound.
   */
  static of(
    layers: KernelLayerInfo[],
    kernels: tf.Variable[],
    sampleShape: number[] | undefined,
  ): FeatureSnapshots | undefined {
    const layer = layers[0];
    if (!layer || !kernels[0]) return undefined;
    const image = featureImage(layer.kind, layer.shape, sampleShape);
    if (!image) return undefined;
    const units = featureUnits(image, layer.shape[layer.shape.length - 1]);
    return units > 0 ? new FeatureSnapshots(layer, kernels[0], image, units) : undefined;
  }

  /** Whether the end of (1-based) epoch `epoch` gets a snapshot. */
  due(epoch: number): boolean {
    return featuresDue(epoch);
  }

  /** The snapshot of the kernel now (null when a weight is not finite: none is written). */
  snapshot(step: number, epoch: number): Omit<FeaturesEvent, 'v' | 'time'> | null {
    const shape = this.kernel.shape;
    const units = this.units;
    const values = tf.tidy(() => {
      const begin = shape.map(() => 0);
      const size = shape.map((d, i) => (i === shape.length - 1 ? units : d));
      return tf.slice(this.kernel, begin, size).dataSync();
    });
    this.lastStep = step;
    return featuresEvent({
      step,
      epoch,
      layer: this.layer.name,
      kind: this.layer.kind,
      image: this.image,
      totalUnits: shape[shape.length - 1],
      values: unitsFromKernel(values, units, units),
      units,
    });
  }
}
