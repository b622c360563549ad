// Bounded work on any config (issue 11, cases 1, 5 and 8): nesting is checked before anything
// recursive sees the text, the schema bounds every size, and the model's parameters and a
// synthetic dataset's values are estimated from the config and held to stated limits, so that a
// small file gets a positioned error at once instead of exhausting memory.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { selectBackend } from '../src/engine/backend/select';
import { MAX_NESTING } from '../src/engine/config/syntax';
import { estimateParameters, MAX_DATA_VALUES, MAX_PARAMETERS } from '../src/engine/config/size';
import type { ModelSpec } from '../src/engine/config/types';
import { formatError, parseConfigText } from '../src/engine/config/validate';
import { registerGradients } from '../src/engine/gradients';
import { buildModel } from '../src/engine/models';
import { EXAMPLES, runCli, tempDir } from './helpers/runs';

const BASE = {
  dataset: { name: 'synthetic', samples: 64, testSamples: 16, inputShape: [8, 8, 3], classes: 4 },
  optimizer: { type: 'sgd', learningRate: 0.1 },
  schedule: { epochs: 1, batchSize: 8 },
};

/** `check` of a config text, timed: its errors as `line:col message`. */
function check(text: string): { errors: string[]; ms: number } {
  const t = performance.now();
  const r = parseConfigText(text, 'x.layerrot.json');
  const ms = performance.now() - t;
  return { errors: r.ok ? [] : r.errors.map((e) => formatError(e).replace(/^x\.layerrot\.json:/, '')), ms };
}

describe('nesting', () => {
  for (const depth of [2_000, 200_000])
    it(`${depth.toLocaleString('en-US')} levels: one error at the first bracket too deep, at once`, () => {
      const text = `{"name": "x", "model": ${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const { errors, ms } = check(text);
      // The root object is level 1: the bracket of level MAX_NESTING + 1 is the (MAX_NESTING)th '['.
      const col = text.indexOf('[') + MAX_NESTING; // 1-based column of that bracket
      assert.deepEqual(errors, [
        `1:${col}: the config nests objects and arrays more than ${MAX_NESTING} levels deep here; a config nests a few levels (model, optimizer, sweep values)`,
      ]);
      assert.ok(ms < 2000, `${ms} ms`);
    });

  it('brackets inside strings and comments do not count', () => {
    const text = `{
      // ${'['.repeat(500)}
      "name": "${'{'.repeat(500)}", ${JSON.stringify(BASE).slice(1, -1)},
      "model": { "type": "mlp", "hidden": [4] }
    }`;
    assert.deepEqual(check(text).errors, []);
  });
});

describe('sizes the schema bounds', () => {
  it("the issue's configs: positioned errors at once, no memory blow-up", () => {
    const heap = process.memoryUsage().heapUsed;
    const cases: [object, RegExp][] = [
      [
        {
          model: { type: 'resnet', depth: 600000002 },
          optimizer: { type: 'sgd', learningRate: 0.1, layerMultipliers: { conv1: 2 } },
        },
        /model\.depth must be an integer in \[8, 1202\], got 600000002/,
      ],
      [
        { model: { type: 'vgg', filters: [8], convsPerStage: 1e9 } },
        /model\.convsPerStage must be an integer in \[1, 64\]/,
      ],
      [
        { dataset: { ...BASE.dataset, classes: 1e9 } },
        /dataset\.classes must be an integer in \[2, 100000\], got 1000000000/,
      ],
      [{ dataset: { ...BASE.dataset, samples: 1e12 } }, /dataset\.samples must be an integer in \[1, 10000000\]/],
    ];
    for (const [patch, want] of cases) {
      const config = { ...BASE, model: { type: 'mlp', hidden: [4] }, ...patch };
      const { errors, ms } = check(JSON.stringify(config, null, 2));
      assert.ok(
        errors.some((e) => want.test(e) && /^\d+:\d+: /.test(e)),
        `${JSON.stringify(patch)}: ${errors.join(' | ')}`,
      );
      assert.ok(ms < 1000, `${ms} ms`);
    }
    assert.ok(process.memoryUsage().heapUsed - heap < 200 * 2 ** 20, 'the heap grew by more than 200 MB');
  });

  it('products within each bound but over the limits: the estimate and the limit, at the model or the samples', () => {
    const wide = check(JSON.stringify({ ...BASE, model: { type: 'mlp', hidden: [1048576, 1048576] } }, null, 2));
    assert.equal(wide.errors.length, 1, wide.errors.join(' | '));
    assert.match(
      wide.errors[0],
      /^\d+:\d+: the model would have about 1\.10e12 parameters \(4\d{3}\.\d GB as float32, before the optimizer's state\); at most 1\.00e9: make it narrower or shallower$/,
    );
    const many = check(
      JSON.stringify({
        ...BASE,
        dataset: { ...BASE.dataset, samples: 10_000_000, inputShape: [1000] },
        model: { type: 'mlp', hidden: [4] },
      }),
    );
    assert.equal(many.errors.length, 1, many.errors.join(' | '));
    assert.match(many.errors[0], /the synthetic dataset would hold 1\.00e10 values .*at most 1\.00e9/);
    assert.ok(MAX_PARAMETERS === 1e9 && MAX_DATA_VALUES === 1e9);
  });

  it('the largest models within the limits are still checked at once (layers listed for layerMultipliers)', () => {
    const deep = {
      ...BASE,
      model: { type: 'resnet', depth: 1202, filters: [4, 4, 4] },
      optimizer: { type: 'sgd', learningRate: 0.1, layerMultipliers: { conv1: 2, nope: 1 } },
    };
    const { errors, ms } = check(JSON.stringify(deep));
    assert.equal(errors.length, 1, errors.join(' | '));
    assert.match(errors[0], /unknown layer 'nope' in optimizer\.layerMultipliers/);
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it('the CLI says so and exits 2, quickly', async () => {
    const dir = tempDir('bounds');
    const file = path.join(dir, 'huge.layerrot.json');
    fs.writeFileSync(file, JSON.stringify({ ...BASE, model: { type: 'vgg', filters: [8], convsPerStage: 1e9 } }));
    const r = await runCli(['check', file], { timeoutMs: 20_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /huge\.layerrot\.json:\d+:\d+: model\.convsPerStage must be an integer in \[1, 64\]/);
  });
});

describe('the parameter estimate is the engine’s count', () => {
  before(async () => {
    registerGradients();
    await selectBackend('cpu');
  });
  const specs: [string, ModelSpec, number[], number][] = [];
  for (const name of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.layerrot.json'))) {
    const checked = parseConfigText(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'), name);
    if (!checked.ok) continue;
    const shape = checked.config.dataset.name === 'cifar10' ? [32, 32, 3] : [28, 28, 1];
    if (checked.config.dataset.name !== 'synthetic') specs.push([name, checked.config.model, shape, 10]);
  }
  const variant = (model: object) => {
    const checked = parseConfigText(JSON.stringify({ ...BASE, model }), 'v.layerrot.json');
    assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.errors));
    return checked.config.model;
  };
  specs.push([
    'vgg without batch norm or biases',
    variant({ type: 'vgg', filters: [4, 8], batchNorm: false, useBias: false, dense: [16] }),
    [8, 8, 3],
    4,
  ]);
  specs.push(['resnet-14, 1 channel', variant({ type: 'resnet', depth: 14, filters: [4, 8, 8] }), [8, 8, 1], 4]);
  for (const [name, spec, shape, classes] of specs)
    it(`${name}: the built model's trainable parameters`, () => {
      const flat = spec.type === 'mlp' ? [shape.reduce((a, b) => a * b, 1)] : shape;
      const model = buildModel(spec, flat, classes, 1);
      const built = model.params.reduce((a, p) => a + p.variable.size, 0);
      model.dispose();
      const estimate = estimateParameters(spec, shape, classes);
      assert.equal(estimate, built);
    });
});
