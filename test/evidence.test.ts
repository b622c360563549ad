// What a set of runs says of the paper's rule (src/experiments/evidence.ts): configurations are
// grouped with their seeds, only configurations that fit are read, the reading follows the rank
// correlation and the seeds' spread, and each run is placed among its siblings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CompareRow } from '../src/experiments/compareModel';
import { configurations, evidenceOf, readRule, spearman } from '../src/experiments/evidence';

/** A row of a comparison: learning rate and seed as its config, its verdict and distances as given. */
function row(
  lr: number,
  seed: number,
  test: number | null,
  minDistance: number,
  opts: Partial<Pick<CompareRow, 'verdict' | 'status' | 'lagging' | 'trainAccuracy'>> = {},
): CompareRow {
  const verdict = opts.verdict ?? 'judged';
  return {
    folder: `/runs/p-${lr}-${seed}`,
    runId: `p-${lr}-${seed}`,
    name: `p-${lr}-${seed}`,
    label: `p-${lr}-${seed}`,
    status: opts.status ?? 'completed',
    reason: '',
    engine: 'tfjs',
    backend: 'wasm',
    seconds: 10,
    configSource: 'copy',
    config: { 'optimizer.learningRate': lr, seed },
    trainAccuracy: opts.trainAccuracy ?? 1,
    valAccuracy: null,
    testAccuracy: test,
    layers: ['a', 'b'],
    distances: { a: minDistance, b: minDistance + 0.01 },
    minDistance,
    meanDistance: minDistance + 0.005,
    verdict,
    verdictStatus: '',
    lagging: opts.lagging ?? (verdict === 'judged' && minDistance < 0.8 ? ['a', 'b'] : []),
    relative: null,
    skipped: [],
  };
}

const PATHS = ['optimizer.learningRate', 'seed'];

/** Three seeds of a learning rate, at test accuracies `tests` and a least distance `d`. */
const seeds = (lr: number, tests: number[], d: number, opts?: Parameters<typeof row>[4]) =>
  tests.map((t, i) => row(lr, i + 1, t, d, opts));

describe("the runs' configurations", () => {
  it('groups seeds of one configuration, with the mean and standard deviation of their test accuracy', () => {
    const rows = [...seeds(0.01, [0.9, 0.92, 0.94], 0.3), ...seeds(0.1, [0.95, 0.95], 0.9)];
    const configs = configurations(rows, PATHS);
    assert.deepEqual(
      configs.map((c) => [c.label, c.rows, c.runs, c.fit]),
      [
        ['learningRate=0.01', [0, 1, 2], 3, 3],
        ['learningRate=0.1', [3, 4], 2, 2],
      ],
    );
    assert.ok(Math.abs((configs[0].testMean as number) - 0.92) < 1e-12);
    assert.ok(Math.abs((configs[0].testSd as number) - 0.02) < 1e-12);
    assert.equal(configs[1].testSd, 0);
    assert.equal(configs[0].lagging, 3);
    assert.equal(configs[1].lagging, 0);
  });
});

describe("Spearman's rank correlation", () => {
  it('is 1 for any increasing relation, -1 for a decreasing one, shares ranks on ties, and is null without spread', () => {
    assert.equal(spearman([1, 2, 3, 4], [1, 10, 100, 1000]), 1);
    assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
    assert.equal(spearman([1, 2, 3], [0.5, 0.5, 0.5]), null);
    assert.equal(spearman([1, 2], [1, 2]), null);
    const tied = spearman([1, 2, 3, 4], [1, 1, 2, 3]) as number;
    assert.ok(tied > 0.9 && tied < 1, String(tied));
  });
});

describe("reading the paper's rule", () => {
  it('supports it when more rotation goes with better accuracy beyond the seeds’ spread', () => {
    const rows = [
      ...seeds(0.001, [0.9, 0.91, 0.905], 0.05),
      ...seeds(0.01, [0.93, 0.94, 0.935], 0.4),
      ...seeds(0.03, [0.96, 0.965, 0.97], 0.95),
    ];
    const r = readRule(configurations(rows, PATHS));
    assert.equal(r.kind, 'supports', r.text);
    assert.equal(r.spearman, 1);
    assert.deepEqual(
      r.read.map((c) => c.label),
      ['learningRate=0.001', 'learningRate=0.01', 'learningRate=0.03'],
    );
    assert.match(r.text, /^The paper's rule holds on these runs/);
    assert.match(r.text, /most rotated: learningRate=0\.03 \(least layer distance 0\.95, test 96\.5% ± 0\.5%\)/);
  });

  it('says it does not hold when more rotation goes with worse accuracy beyond the spread', () => {
    const rows = [...seeds(0.001, [0.96, 0.965, 0.97], 0.05), ...seeds(0.01, [0.9, 0.91, 0.905], 0.4)];
    const r = readRule(configurations(rows, PATHS));
    assert.equal(r.kind, 'contradicts', r.text);
    assert.match(r.text, /more rotation went with worse test accuracy/);
  });

  it('sees no relation when the differences are within the seeds’ spread (the MNIST Layca-rate sweep)', () => {
    // docs/evidence.md, section 1: rates 0.001, 0.003, 0.01 all fit; test 94.73 / 95.35 / 94.96.
    const rows = [
      ...seeds(0.001, [0.9516, 0.9451, 0.9453], 0.006),
      ...seeds(0.003, [0.9574, 0.9535, 0.9495], 0.02),
      ...seeds(0.01, [0.9531, 0.9477, 0.9479], 0.16),
    ];
    const r = readRule(configurations(rows, PATHS));
    assert.equal(r.kind, 'no-relation', r.text);
    assert.ok(r.noise !== null && Math.abs(r.gap as number) < r.noise);
    assert.match(r.text, /the rule is not seen here/);
  });

  it('leaves out configurations with a run that did not fit or has not finished, and says why', () => {
    const rows = [
      ...seeds(0.001, [0.9, 0.91, 0.905], 0.05),
      ...seeds(0.01, [0.93, 0.94, 0.935], 0.4),
      row(0.03, 1, 0.3, 0.99, { verdict: 'not-fit', trainAccuracy: 0.35 }),
      ...seeds(0.03, [0.96, 0.965], 0.95).map((r, i) => ({ ...r, config: { ...r.config, seed: i + 2 } })),
      row(0.1, 1, null, 0.2, { verdict: 'too-early', status: 'unfinished' }),
    ];
    const r = readRule(configurations(rows, PATHS));
    assert.deepEqual(r.leftOut, [
      { label: 'learningRate=0.03', why: '1 of 3 runs did not fit their training data' },
      { label: 'learningRate=0.1', why: '1 of 1 runs not finished' },
    ]);
    assert.equal(r.read.length, 2);
    assert.match(r.text, /Left out: learningRate=0\.03 \(1 of 3 runs did not fit/);
  });

  it('needs two configurations that fit, and more than one seed each to know the spread', () => {
    const one = readRule(configurations([...seeds(0.01, [0.9, 0.91], 0.4)], PATHS));
    assert.equal(one.kind, 'insufficient');
    const single = readRule(configurations([row(0.01, 1, 0.9, 0.1), row(0.1, 1, 0.95, 0.9)], PATHS));
    assert.equal(single.kind, 'spread-unknown', single.text);
    assert.match(single.text, /one run per configuration the seeds' spread is unknown/);
  });
});

describe('a run among its siblings', () => {
  it('backs more rotation when a sibling that rotated further generalized better', () => {
    const rows = [...seeds(0.001, [0.9, 0.91, 0.905], 0.05), ...seeds(0.03, [0.96, 0.965, 0.97], 0.95)];
    const e = evidenceOf(rows, PATHS);
    assert.deepEqual(
      e.relative.map((r) => r?.kind ?? null),
      ['lag-backed', 'lag-backed', 'lag-backed', null, null, null],
    );
    assert.match(
      e.relative[0]?.text ?? '',
      /^Its layers lag, and learningRate=0\.03 .*which rotated further, generalized better/,
    );
  });

  it("the paper's MLP on MNIST (docs/evidence.md): more rotation helps up to a point, and the notes say where", () => {
    const rows = [
      ...seeds(0.0041, [0.9456, 0.9485, 0.9473], 0.016),
      ...seeds(0.012, [0.9545, 0.9578, 0.9578], 0.051),
      ...seeds(0.037, [0.9579, 0.9612, 0.9627], 0.159),
      ...seeds(0.11, [0.9514, 0.9546, 0.9575], 0.655),
    ];
    const e = evidenceOf(rows, PATHS);
    assert.equal(e.reading.kind, 'no-relation', e.reading.text);
    assert.match(
      e.reading.text,
      /test accuracy did not rise steadily with rotation .*; the best, learningRate=0\.037 .* lies between them/,
    );
    const kinds = e.relative.map((r) => r?.kind ?? null);
    assert.deepEqual(kinds.slice(0, 3), ['lag-backed', 'lag-backed', 'lag-backed']);
    assert.deepEqual(kinds.slice(6, 9), ['lag-unbacked', 'lag-unbacked', 'lag-unbacked']);
    assert.match(e.relative[6]?.text ?? '', /no sibling that rotated further generalized better \(learningRate=0\.11/);
    assert.deepEqual(kinds.slice(9), [null, null, null], 'the most rotated has no sibling to compare with');
  });

  it('does not back a lag the siblings do not support', () => {
    const rows = [
      ...seeds(0.001, [0.9516, 0.9451, 0.9453], 0.006),
      ...seeds(0.01, [0.9531, 0.9477, 0.9479], 0.16),
      ...seeds(0.05, [0.95, 0.951, 0.949], 0.9),
    ];
    const e = evidenceOf(rows, PATHS);
    assert.equal(e.reading.kind, 'no-relation');
    assert.deepEqual(
      e.relative.map((r) => r?.kind ?? null),
      [
        'lag-unbacked',
        'lag-unbacked',
        'lag-unbacked',
        'lag-unbacked',
        'lag-unbacked',
        'lag-unbacked',
        null,
        null,
        null,
      ],
    );
  });

  it('marks a run far below the best configuration, with the rate advice only when its layers rotated further', () => {
    const rows = [
      ...seeds(0.01, [0.95, 0.951, 0.949], 0.3),
      row(0.03, 1, 0.3, 0.99, { verdict: 'not-fit', trainAccuracy: 0.35 }),
      row(0.0001, 1, 0.5, 0.001, { verdict: 'not-fit', trainAccuracy: 0.5 }),
    ];
    const e = evidenceOf(rows, PATHS);
    assert.equal(e.relative[3]?.kind, 'far-below');
    assert.match(
      e.relative[3]?.text ?? '',
      /Test accuracy 30\.0%, far below learningRate=0\.01 .*rotated further\. The rate is too high/,
    );
    assert.equal(e.relative[4]?.kind, 'far-below');
    assert.doesNotMatch(e.relative[4]?.text ?? '', /rate is too high/);
  });

  it('says nothing of runs that differ by seed only', () => {
    const e = evidenceOf(seeds(0.01, [0.5, 0.95, 0.96], 0.3), PATHS);
    assert.deepEqual(e.relative, [null, null, null]);
    assert.equal(e.reading.kind, 'insufficient');
  });
});
