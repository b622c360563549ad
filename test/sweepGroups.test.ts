// The runs tree's grouping of sweeps (src/experiments/sweepGroups.ts): which runs belong to a
// sweep (on a real sweep folder written by `layer-rotation sweep`), the order of the groups, each
// point's state (its run's when known, else its status file's), the counts in words, the point
// labels and the children's order with reruns.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import {
  countStates,
  groupBySweep,
  pointLabel,
  pointStates,
  type RunState,
  sweepChildren,
  sweepCountsText,
  sweepDirOf,
  sweepFileText,
  sweepState,
} from '../src/experiments/sweepGroups';
import { type PointEntry, readSweep, type SweepFile } from '../src/experiments/sweepRun';
import { runCli, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

describe('a real sweep folder', () => {
  let dir: string;
  let sweepDir: string;
  let sweep: SweepFile;
  let runDirs: string[];

  before(async () => {
    dir = tempDir('sweep-groups');
    const file = writeConfig(
      dir,
      'tiny',
      syntheticConfig({
        name: 'tiny',
        dataset: { name: 'synthetic', samples: 200, testSamples: 50, inputShape: [8], classes: 2 },
        model: { type: 'mlp', hidden: [8] },
        schedule: { epochs: 1, batchSize: 32 },
        sweep: { 'optimizer.learningRate': [0.02, 0.1] },
      }),
    );
    const r = await runCli(['sweep', file]);
    assert.equal(r.code, 0, r.stderr);
    sweepDir = path.join(dir, 'runs', 'tiny-sweep');
    sweep = readSweep(sweepDir)!;
    runDirs = sweep.points.map((p) => path.join(sweepDir, p.runDir!));
  });

  it('finds the sweep of its point runs, and none for other folders', () => {
    for (const runDir of runDirs) assert.equal(sweepDirOf(runDir), sweepDir);
    const plain = path.join(dir, 'runs', 'plain-20260101-000000');
    fs.mkdirSync(plain, { recursive: true });
    assert.equal(sweepDirOf(plain), undefined);
    assert.equal(sweepDirOf(sweepDir), undefined, 'the sweep folder is no run of a sweep');
    assert.equal(sweepDirOf(path.parse(dir).root), undefined);
  });

  it('groups the runs: one entry per sweep where its first run is, the others in their order', () => {
    const runs = [{ dir: path.join(dir, 'a') }, { dir: runDirs[1] }, { dir: path.join(dir, 'b') }, { dir: runDirs[0] }];
    const sweepOf = (r: { dir: string }) => (runDirs.includes(r.dir) ? sweepDir : undefined);
    const groups = groupBySweep(runs, sweepOf);
    assert.deepEqual(groups, [
      { kind: 'run', run: runs[0] },
      { kind: 'sweep', sweepDir, runs: [runs[1], runs[3]] },
      { kind: 'run', run: runs[2] },
    ]);
  });

  it("takes each point's state from its run when known, else from its status file", () => {
    assert.equal(sweepFileText(sweep), '2 done of 2');
    const fromFiles = pointStates(sweepDir, sweep, () => undefined);
    assert.deepEqual([...fromFiles.values()], ['completed', 'completed']);
    const live = pointStates(sweepDir, sweep, (runDir) => (runDir === runDirs[1] ? 'running' : undefined));
    assert.deepEqual([...live.values()], ['completed', 'running']);
    assert.equal(sweepCountsText(countStates(live.values(), sweep.total), sweep.total), '1 done, 1 running of 2');
  });

  it('lists its runs as children labelled with their values, in grid order', () => {
    const children = sweepChildren(sweepDir, sweep, [runDirs[1], runDirs[0]], (r) => r);
    assert.deepEqual(
      children.map((c) => [c.label, c.index, c.current, c.run]),
      [
        ['learningRate=0.02', 0, true, runDirs[0]],
        ['learningRate=0.1', 1, true, runDirs[1]],
      ],
    );
  });
});

describe('counts and labels', () => {
  const counts = (states: RunState[], total: number) => countStates(states, total);

  it('says the done ones, then the others there are, of the total', () => {
    const mixed: RunState[] = ['completed', 'completed', 'completed', 'failed', 'running', 'pending', 'pending'];
    assert.equal(sweepCountsText(counts(mixed, 8), 8), '3 done, 1 failed, 1 running of 8');
    assert.equal(sweepCountsText(counts(['completed', 'completed'], 2), 2), '2 done of 2');
    assert.equal(
      sweepCountsText(counts(['stopped', 'pending', 'unfinished'], 3), 3),
      '0 done, 1 stopped, 1 unfinished of 3',
    );
    // Points no status file lists yet count as pending.
    assert.deepEqual(counts(['completed'], 3), {
      pending: 2,
      running: 0,
      completed: 1,
      failed: 0,
      stopped: 0,
      unfinished: 0,
    });
  });

  it("names the sweep's state: running first, then trouble, then completed or pending", () => {
    assert.equal(sweepState(counts(['failed', 'running'], 2), 2), 'running');
    assert.equal(sweepState(counts(['failed', 'stopped'], 2), 2), 'failed');
    assert.equal(sweepState(counts(['completed', 'stopped'], 2), 2), 'stopped');
    assert.equal(sweepState(counts(['completed', 'completed'], 2), 2), 'completed');
    assert.equal(sweepState(counts(['completed'], 2), 2), 'pending');
  });

  it('labels a point by the last segment of each path, the whole path where two clash, values as JSON', () => {
    assert.equal(
      pointLabel({ 'optimizer.learningRate': 0.01, 'optimizer.layca': true, seed: 2 }),
      'learningRate=0.01, layca=true, seed=2',
    );
    assert.equal(
      pointLabel({ 'optimizer.layerMultipliers.output': 2, output: 'x' }),
      'optimizer.layerMultipliers.output=2, output=x',
    );
    assert.equal(pointLabel({ 'model.hidden': [16, 16] }), 'hidden=[16,16]');
    const long = pointLabel({ model: { type: 'mlp', hidden: [256, 256, 256, 256], kernelInitializer: 'he_normal' } });
    assert.ok(
      long.startsWith('model={"type":"mlp"') && long.endsWith('…') && long.length === 'model='.length + 40,
      long,
    );
  });

  it("puts a rerun point's current run before its earlier attempts, and runs of unlisted points last", () => {
    const entry = (index: number, folder: string, runDir: string): PointEntry => ({
      index,
      id: folder,
      values: { seed: index + 1 },
      folder,
      runDir,
      status: 'completed',
      testAccuracy: null,
      testLoss: null,
      reason: null,
      attempts: 1,
      host: null,
      pid: null,
      updated: null,
      fingerprint: null,
    });
    const sweepDir = path.resolve('/sweeps/s-sweep');
    const sweep: SweepFile = {
      version: 1,
      config: '',
      name: 's',
      grid: { seed: [1, 2] },
      total: 2,
      counts: { pending: 0, running: 0, completed: 2, failed: 0, stopped: 0 },
      updated: '',
      points: [entry(0, 'p000-seed=1', 'p000-seed=1/s-p000-2'), entry(1, 'p001-seed=2', 'p001-seed=2/s-p001-1')],
    };
    const runs = ['p001-seed=2/s-p001-1', 'p000-seed=1/s-p000-1', 'old-grid/s-x', 'p000-seed=1/s-p000-2'].map((r) =>
      path.join(sweepDir, r),
    );
    const children = sweepChildren(sweepDir, sweep, runs, (r) => r);
    assert.deepEqual(
      children.map((c) => [path.relative(sweepDir, c.run), c.label, c.current]),
      [
        ['p000-seed=1/s-p000-2', 'seed=1', true],
        ['p000-seed=1/s-p000-1', 'seed=1', false],
        ['p001-seed=2/s-p001-1', 'seed=2', true],
        ['old-grid/s-x', 'old-grid', true],
      ],
    );
  });
});
