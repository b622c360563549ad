// A tfjs sweep's jobs keep one runner process for their points (src/launch/tfjs.ts, WarmRunner),
// for real: a point trained by a warm runner equals the same point trained by a fresh process;
// a point that fails (NaN) does not end the runner, a killed runner fails its point only and the
// next point gets a fresh one; no runner outlives its sweep (done, killed, or its parent gone);
// tensors and memory stay flat over ten points; the data a point read serves the next points on
// the same data (read once, built once a split), with the same numbers as a fresh process's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readRawConfig, type SweepOptions, SweepRun } from '../src/experiments/sweepRun';
import type { RunnerIdle } from '../src/launch/runnerMessages';
import { type RunHandle, startRun } from '../src/launch/supervisor';
import { ROOT, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';
import { alive, sleep } from './helpers/processes';
import { writeMnistFolder } from './helpers/datafiles';

const RUNNER = path.join(ROOT, 'out', 'src', 'launch', 'runner.js');

/** A small synthetic config: a few hundred milliseconds of training a point. */
function small(sweep: Record<string, unknown[]>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return syntheticConfig({
    name: 'warm',
    dataset: { name: 'synthetic', samples: 600, testSamples: 100, inputShape: [16], classes: 4, validationSplit: 0.1 },
    model: { type: 'mlp', hidden: [16, 16] },
    optimizer: { type: 'sgd', learningRate: 0.05, momentum: 0.9, layca: true },
    schedule: { epochs: 2, batchSize: 32 },
    sweep,
    ...overrides,
  });
}

/** A SweepRun of `config` in `dir` (tfjs, our runner), with what it says and its runners' reports. */
function sweepOf(
  dir: string,
  config: Record<string, unknown>,
  opts: Partial<SweepOptions> = {},
): { sweep: SweepRun; sweepDir: string; idles: RunnerIdle[]; lines: string[] } {
  const file = writeConfig(dir, 'warm', config);
  const sweepDir = path.join(dir, 'runs', 'warm-sweep');
  const idles: RunnerIdle[] = [];
  const lines: string[] = [];
  const sweep = new SweepRun(
    {
      configFile: file,
      sweepDir,
      jobs: 1,
      overrides: {},
      request: async (configFile, c, runsDir) => ({
        engine: 'tfjs',
        configFile,
        runsDir,
        name: c.name,
        runnerScript: RUNNER,
      }),
      log: (line) => lines.push(line),
      onRunnerIdle: (m) => idles.push(m),
      ...opts,
    },
    readRawConfig(file),
    'warm',
  );
  return { sweep, sweepDir, idles, lines };
}

/** The numbers a run's log holds: losses, accuracies and distances of every event (not times). */
function numbers(runDir: string): unknown[] {
  return strictEvents(runDir)
    .filter((e) => ['batch', 'rotation', 'epoch_end', 'run_finished'].includes(e.type))
    .map((e) => ({
      type: e.type,
      step: e.step,
      loss: e.loss,
      accuracy: e.accuracy,
      valLoss: e.valLoss,
      distances: e.distances ?? e.finalDistances,
      testLoss: e.testLoss,
      testAccuracy: e.testAccuracy,
      status: e.status,
    }));
}

/** Whether two of numbers() agree to float tolerance. */
function assertClose(a: unknown, b: unknown, where: string): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a)), `${where}: ${a} != ${b}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${where}: lengths`);
    a.forEach((x, i) => assertClose(x, b[i], `${where}[${i}]`));
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a), Object.keys(b), where);
    for (const k of Object.keys(a))
      assertClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
  } else assert.equal(a, b, where);
}

/** A cold run (a fresh runner) of a sweep point's config writes the numbers its warm run wrote (at least `least` events). */
async function assertColdEqualsWarm(
  dir: string,
  sweepDir: string,
  p: { index: number; id: string; folder: string; runDir: string | null },
  least: number,
): Promise<void> {
  const cold = startRun({
    engine: 'tfjs',
    configFile: path.join(sweepDir, p.folder, 'point.layerrot.json'),
    runsDir: path.join(dir, 'cold'),
    name: `cold-${p.index}`,
    runnerScript: RUNNER,
  });
  const finished = await cold.done;
  assert.equal(finished.status, 'completed', finished.reason);
  const warmNumbers = numbers(path.join(sweepDir, p.runDir as string));
  assert.ok(warmNumbers.length > least, `${warmNumbers.length} events`);
  assertClose(warmNumbers, numbers(cold.runDir), p.id);
}

describe('a sweep job keeps one tfjs runner for its points', () => {
  it('trains every point in one process, each as a fresh process would (same log numbers)', async () => {
    const dir = tempDir('warm-same');
    // Different models and optimizers one after the other in one process, then the first again.
    const { sweep, sweepDir, idles } = sweepOf(
      dir,
      small({ 'model.hidden': [[16, 16], [8]], 'optimizer.layca': [true, false] }),
    );
    const outcome = await sweep.start();
    assert.ok(outcome.allCompleted, JSON.stringify(outcome.points));
    assert.equal(idles.length, 4);
    assert.equal(new Set(idles.map((m) => m.pid)).size, 1, 'one runner process for the 4 points');
    assert.ok(!alive(idles[0].pid), 'the runner has exited with the sweep');
    for (const p of outcome.points) {
      const warmDir = path.join(sweepDir, p.runDir as string);
      await assertColdEqualsWarm(dir, sweepDir, p, 10);
      const summary = JSON.parse(fs.readFileSync(path.join(warmDir, 'summary.json'), 'utf8'));
      assert.equal(summary.status, 'completed');
      assert.equal(summary.runId, path.basename(warmDir));
    }
  });

  it('keeps the data read for the next points: read once a dataset, built once a split, the same numbers as a cold run', async () => {
    const dir = tempDir('warm-data');
    const a = path.join(dir, 'data-a');
    const b = path.join(dir, 'data-b');
    writeMnistFolder(a, { nTrain: 200, nTest: 40, side: 8 });
    writeMnistFolder(b, { nTrain: 160, nTest: 30, side: 8, gzip: true });
    const config = small(
      { 'dataset.path': [a, b], seed: [1, 2], 'optimizer.learningRate': [0.05, 0.04] },
      { dataset: { name: 'mnist', validationSplit: 0.1 }, schedule: { epochs: 1, batchSize: 32 } },
    );
    const { sweep, sweepDir, idles } = sweepOf(dir, config, {
      // After p001 (the last on data-a as it was), data-a changes: p002 reads it again.
      onEvent: (p, e) => {
        if (p.index === 1 && e.type === 'run_finished') writeMnistFolder(a, { nTrain: 200, nTest: 50, side: 8 });
      },
    });
    const outcome = await sweep.start();
    assert.ok(outcome.allCompleted, JSON.stringify(outcome.points));
    assert.equal(new Set(idles.map((m) => m.pid)).size, 1, 'one runner process for the 8 points');
    // Points: (a, seed 1, two rates), (a, seed 2, ...), (b, seed 1, ...), (b, seed 2, ...).
    assert.deepEqual(
      idles.map((m) => m.datasetReads),
      [1, 1, 2, 2, 3, 3, 3, 3],
    );
    assert.deepEqual(
      idles.map((m) => m.datasetBuilds),
      [1, 1, 2, 2, 3, 3, 4, 4],
    );
    const testSamples = outcome.points.map(
      (p) => strictEvents(path.join(sweepDir, p.runDir as string))[0].dataset.test,
    );
    assert.deepEqual(testSamples, [40, 40, 50, 50, 30, 30, 30, 30]);
    // Reused as is (p003), built from kept data into the arrays of the one before (p006), read anew (p002, p004).
    for (const i of [2, 3, 4, 6]) await assertColdEqualsWarm(dir, sweepDir, outcome.points[i], 5);
  });

  it('a point that fails or whose runner is killed fails alone: the next points train, in a fresh runner after a kill', async () => {
    const dir = tempDir('warm-faults');
    const handles = new Map<number, RunHandle>();
    let killed: number | undefined;
    const { sweep, sweepDir, idles } = sweepOf(
      dir,
      // p001's loss overflows (no Layca, a huge rate); p002's runner is killed as it starts training.
      small(
        { 'optimizer.learningRate': [0.05, 1e30, 0.04, 0.03] },
        {
          optimizer: { type: 'sgd', learningRate: 0.05 },
          dataset: { name: 'synthetic', samples: 6000, testSamples: 100, inputShape: [16], classes: 4 },
        },
      ),
      {
        startRun: (o) => {
          const h = startRun(o);
          handles.set(handles.size, h);
          return h;
        },
        onEvent: (p, e) => {
          if (p.index === 2 && e.type === 'run_started' && killed === undefined) {
            killed = handles.get(2)!.pid!;
            process.kill(killed, 'SIGKILL');
          }
        },
      },
    );
    const outcome = await sweep.start();
    assert.deepEqual(
      outcome.points.map((p) => p.status),
      ['completed', 'failed', 'failed', 'completed'],
      JSON.stringify(outcome.points),
    );
    assert.match(outcome.points[1].reason ?? '', /the loss became (NaN|Infinity|-Infinity) at step/);
    assert.match(outcome.points[2].reason ?? '', /the runner was killed by SIGKILL/);
    // Every point's log ends with its run_finished, the killed one's written for it.
    for (const p of outcome.points) {
      const events = strictEvents(path.join(sweepDir, p.runDir as string));
      assert.equal(events.filter((e) => e.type === 'run_finished').length, 1, p.id);
      assert.equal(events[events.length - 1].status, p.status, p.id);
    }
    // p000 and p001 in one runner (the NaN did not end it), p003 in a fresh one.
    assert.deepEqual(
      idles.map((m) => m.runId),
      [0, 1, 3].map((i) => path.basename(outcome.points[i].runDir as string)),
    );
    assert.equal(idles[0].pid, idles[1].pid);
    assert.equal(idles[1].pid, killed);
    assert.notEqual(idles[2].pid, killed);
    assert.ok(!alive(idles[2].pid), 'the last runner has exited with the sweep');
  });

  it('kill() ends the runner at once; the point is recorded as failed', async () => {
    const dir = tempDir('warm-kill');
    let pid: number | undefined;
    const { sweep, sweepDir } = sweepOf(dir, small({ seed: [1, 2] }, { schedule: { epochs: 500, batchSize: 32 } }), {
      startRun: (o) => {
        const h = startRun(o);
        pid = h.pid;
        return h;
      },
      onEvent: (_p, e) => {
        if (e.type === 'rotation' && e.step > 0) sweep.kill();
      },
    });
    const outcome = await sweep.start();
    assert.ok(pid !== undefined);
    assert.ok(!alive(pid), 'the runner is gone');
    assert.deepEqual(
      outcome.points.map((p) => p.status),
      ['failed', 'pending'],
    );
    const events = strictEvents(path.join(sweepDir, outcome.points[0].runDir as string));
    assert.equal(events[events.length - 1].type, 'run_finished');
  });

  it('a warm runner ends within seconds of its parent, between points or during one', async () => {
    const dir = tempDir('warm-orphan');
    const file = writeConfig(dir, 'warm', small({ seed: [1, 2, 3] }, { schedule: { epochs: 500, batchSize: 32 } }));
    const cli = spawn(process.execPath, [path.join(ROOT, 'out', 'src', 'cli.js'), 'sweep', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    cli.stderr.on('data', (d) => (stderr += d));
    const runsDir = path.join(dir, 'runs', 'warm-sweep');
    const t0 = Date.now();
    let runner: number | undefined;
    let log: string | undefined;
    try {
      while (!log || !fs.existsSync(log) || !fs.readFileSync(log, 'utf8').includes('"type":"batch"')) {
        if (Date.now() - t0 > 30_000) throw new Error(`no training after 30 s: ${stderr}`);
        await sleep(100);
        const point = fs.existsSync(runsDir) ? fs.readdirSync(runsDir).find((f) => f.startsWith('p000')) : undefined;
        const run = point && fs.readdirSync(path.join(runsDir, point)).find((f) => !f.includes('.'));
        log = run ? path.join(runsDir, point, run, 'events.jsonl') : undefined;
      }
      runner = Number(fs.readFileSync(`/proc/${cli.pid}/task/${cli.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      assert.ok(runner > 0, 'the runner process');
      cli.kill('SIGKILL');
      const killedAt = Date.now();
      while (alive(runner) && Date.now() - killedAt < 8000) await sleep(100);
      assert.ok(!alive(runner), `the runner (pid ${runner}) outlived its parent by 8 s`);
      const events = strictEvents(path.dirname(log));
      assert.equal(events.filter((e) => e.type === 'run_finished').length, 1);
      assert.equal(events[events.length - 1].status, 'stopped');
      assert.match(events[events.length - 1].reason, /the process that started the run went away/);
    } finally {
      cli.kill('SIGKILL');
      if (runner && alive(runner)) process.kill(runner, 'SIGKILL');
    }
  });

  it('ten points in one runner: its tensors and memory stay flat', async (t) => {
    const dir = tempDir('warm-memory');
    const { sweep, idles } = sweepOf(dir, small({ seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }));
    const outcome = await sweep.start();
    assert.ok(outcome.allCompleted, JSON.stringify(outcome.points));
    assert.equal(idles.length, 10);
    assert.equal(new Set(idles.map((m) => m.pid)).size, 1);
    // No tensor is left behind by a point (the backend's own, if any, are there from the first).
    assert.deepEqual(
      idles.map((m) => m.tensors),
      idles.map(() => idles[0].tensors),
    );
    const mb = idles.map((m) => Math.round(m.rss / 2 ** 20));
    t.diagnostic(`resident memory after each point (MB): ${mb.join(', ')}; tensors ${idles[0].tensors}`);
    assert.ok(mb[9] - mb[2] < 40, `resident memory after each point (MB): ${mb.join(', ')}`);
  });
});
