// The kernel layers of a model spec (dense and conv weights: what layer rotation measures and
// Layca turns): their names and the config node defining each, in forward order. The one place
// layer names are made: the validator reads them before any model exists, and the tfjs model
// builder (models/index.ts) names its layers from the layouts below.
import type { JsonPath } from './json';
import type { MlpSpec, ModelSpec, ResnetSpec, VggSpec } from './types';

export interface KernelLayer {
  name: string;
  /** JSON path of the config node that defines the layer. */
  source: JsonPath;
}

export interface MlpLayout {
  hidden: KernelLayer[];
  output: KernelLayer;
}

export interface VggLayout {
  /** The convolutions of each stage. */
  stages: KernelLayer[][];
  dense: KernelLayer[];
  output: KernelLayer;
}

export interface ResnetBlock {
  /** `s{stage}b{block}`, the prefix of its layers' names. */
  name: string;
  conv1: KernelLayer;
  conv2: KernelLayer;
  /** The 1x1 projection of the first block of stages 2 and 3, right after conv2. */
  shortcut?: KernelLayer;
}

export interface ResnetLayout {
  stem: KernelLayer;
  /** The blocks of each of the three stages. */
  stages: ResnetBlock[][];
  output: KernelLayer;
}

/** Names of the model's kernel layers (dense and conv weights), in forward order. */
export function kernelLayerNames(model: ModelSpec): string[] {
  return kernelLayers(model).map((l) => l.name);
}

/** For each kernel layer (same order as kernelLayerNames), the JSON path of the config node defining it. */
export function layerSourcePaths(model: ModelSpec): JsonPath[] {
  return kernelLayers(model).map((l) => l.source);
}

/** n, the blocks per stage of a ResNet of depth 6n+2; undefined when depth is not of that form. */
export function resnetBlocksPerStage(depth: number): number | undefined {
  const n = (depth - 2) / 6;
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** The kernel layers in forward order. */
export function kernelLayers(model: ModelSpec): KernelLayer[] {
  switch (model.type) {
    // Plain loops: a sweep lists the layers of each point it checks.
    case 'mlp': {
      const { hidden, output } = mlpLayout(model);
      hidden.push(output);
      return hidden;
    }
    case 'vgg': {
      const { stages, dense, output } = vggLayout(model);
      const out: KernelLayer[] = [];
      for (const stage of stages) for (const l of stage) out.push(l);
      for (const l of dense) out.push(l);
      out.push(output);
      return out;
    }
    case 'resnet': {
      const { stem, stages, output } = resnetLayout(model);
      const out = [stem];
      for (const stage of stages)
        for (const b of stage) {
          out.push(b.conv1, b.conv2);
          if (b.shortcut) out.push(b.shortcut);
        }
      out.push(output);
      return out;
    }
  }
}

/** The output layer, defined by the model as a whole. */
const output = (): KernelLayer => ({ name: 'output', source: ['model'] });

export function mlpLayout(model: MlpSpec): MlpLayout {
  const hidden = model.hidden.map((_, i) => ({ name: `dense${i + 1}`, source: ['model', 'hidden', i] }));
  return { hidden, output: output() };
}

export function vggLayout(model: VggSpec): VggLayout {
  const stages = model.filters.map((_, s) => {
    const convs = typeof model.convsPerStage === 'number' ? model.convsPerStage : (model.convsPerStage[s] ?? 0);
    return Array.from({ length: convs }, (_, i) => ({
      name: `conv${s + 1}_${i + 1}`,
      source: ['model', 'filters', s],
    }));
  });
  const dense = model.dense.map((_, i) => ({ name: `fc${i + 1}`, source: ['model', 'dense', i] }));
  return { stages, dense, output: output() };
}

export function resnetLayout(model: ResnetSpec): ResnetLayout {
  const n = Math.max(0, Math.floor((model.depth - 2) / 6));
  const layer = (name: string): KernelLayer => ({ name, source: ['model', 'depth'] });
  const stages = [1, 2, 3].map((s) =>
    Array.from({ length: n }, (_, i) => {
      const name = `s${s}b${i + 1}`;
      const block: ResnetBlock = { name, conv1: layer(`${name}_conv1`), conv2: layer(`${name}_conv2`) };
      if (s >= 2 && i === 0) block.shortcut = layer(`${name}_shortcut`);
      return block;
    }),
  );
  return { stem: layer('conv1'), stages, output: output() };
}
