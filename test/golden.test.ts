// The golden configs (test/fixtures/golden.json, shared with the Python engine's tests): every
// example and fixture config resolves to the recorded config with all defaults, its kernel layers
// are the recorded names and config paths, and the tfjs model built for it has exactly those
// kernel layers, in order.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/engine/backend/select';
import type { DatasetSpec, TrainingConfig } from '../src/engine/config/types';
import { kernelLayerNames, layerSourcePaths, loadConfigFile } from '../src/engine/config/validate';
import { registerGradients } from '../src/engine/gradients';
import { buildModel } from '../src/engine/models';
import { ROOT } from './helpers/runs';

interface GoldenLayer {
  name: string;
  configPath: (string | number)[];
}

interface GoldenEntry {
  file: string;
  resolved: TrainingConfig;
  layers: GoldenLayer[];
}

const GOLDEN: { configs: GoldenEntry[] } = JSON.parse(
  fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'golden.json'), 'utf8'),
);

/** The shape of one sample as the trainer feeds it: images for CNNs, flattened for MLPs. */
function inputShapeOf(dataset: DatasetSpec, flatten: boolean): number[] {
  const shape =
    dataset.name === 'synthetic' ? dataset.inputShape : dataset.name === 'mnist' ? [28, 28, 1] : [32, 32, 3];
  return flatten ? [shape.reduce((a, b) => a * b, 1)] : shape;
}

function classesOf(dataset: DatasetSpec): number {
  return dataset.name === 'synthetic' ? dataset.classes : 10;
}

before(async () => {
  registerGradients();
  await selectBackend('cpu');
});

describe('golden configs', () => {
  it('cover the examples and the fixtures of both test folders', () => {
    const files = GOLDEN.configs.map((c) => c.file);
    assert.equal(new Set(files).size, files.length, 'a file is listed twice');
    for (const dir of ['examples', 'test/fixtures/configs', 'test/vscode/fixtures/configs'])
      assert.ok(
        files.some((f) => f.startsWith(`${dir}/`)),
        `no golden config from ${dir}`,
      );
    const examples = fs.readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.layerrot.json'));
    for (const f of examples) assert.ok(files.includes(`examples/${f}`), `examples/${f} has no golden entry`);
    for (const t of ['mlp', 'vgg', 'resnet'])
      assert.ok(
        GOLDEN.configs.some((c) => c.resolved.model.type === t),
        `no golden ${t}`,
      );
  });

  for (const entry of GOLDEN.configs) {
    it(entry.file, () => {
      const checked = loadConfigFile(path.join(ROOT, entry.file));
      assert.ok(checked.ok, `${entry.file}: ${checked.errors.map((e) => e.message).join('; ')}`);
      assert.deepEqual(checked.config, entry.resolved);

      const { model: spec, dataset } = checked.config;
      assert.deepEqual(
        kernelLayerNames(spec),
        entry.layers.map((l) => l.name),
      );
      assert.deepEqual(
        layerSourcePaths(spec),
        entry.layers.map((l) => l.configPath),
      );

      const model = buildModel(
        spec,
        inputShapeOf(dataset, spec.type === 'mlp'),
        classesOf(dataset),
        checked.config.seed,
      );
      try {
        assert.deepEqual(
          model.layers.map((l) => ({ name: l.name, configPath: l.configPath })),
          entry.layers,
        );
        assert.deepEqual(
          model.kernels.map((k) => k.name),
          entry.layers.map((l) => `${l.name}/kernel`),
        );
      } finally {
        model.dispose();
      }
    });
  }
});
