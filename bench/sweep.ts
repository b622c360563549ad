// The sweep's overhead per point beyond its training (target under 2 s), two ways: measured
// inside the sweep (its wall time minus each point's run, from startRun to the run's end: the
// point's config and re-check, status files, sweep.json under its lock), and end to end against
// the same tiny runs (a few hundred synthetic samples, one epoch) started one after the other
// with the supervisor alone, alternated (noisy on a loaded machine). `node out/bench/sweep.js`, or
// the last section of `npm run bench`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SweepRun } from '../src/experiments/sweepRun';
import { loadConfigFile } from '../src/engine/config/validate';
import { startRun } from '../src/launch/supervisor';

const RUNNER = path.resolve(__dirname, '..', 'src', 'launch', 'runner.js');
const POINTS = 4;
const ROUNDS = 3;

function tinyConfig(): Record<string, unknown> {
  return {
    name: 'bench',
    backend: 'wasm',
    dataset: { name: 'synthetic', samples: 300, testSamples: 100, inputShape: [16], classes: 4 },
    model: { type: 'mlp', hidden: [16] },
    optimizer: { type: 'sgd', learningRate: 0.05 },
    schedule: { epochs: 1, batchSize: 32 },
    sweep: { seed: Array.from({ length: POINTS }, (_, i) => i + 1) },
  };
}

async function plainRuns(dir: string, raw: Record<string, unknown>): Promise<number> {
  const t0 = performance.now();
  for (let seed = 1; seed <= POINTS; seed++) {
    const config: Record<string, unknown> = { ...raw, seed };
    delete config.sweep;
    const file = path.join(dir, `plain-${seed}.layerrot.json`);
    fs.writeFileSync(file, JSON.stringify(config));
    const name = `plain-${seed}`;
    const h = startRun({
      engine: 'tfjs',
      configFile: file,
      runsDir: path.join(dir, 'plain'),
      name,
      runnerScript: RUNNER,
    });
    const finished = await h.done;
    if (finished.status !== 'completed') throw new Error(`plain run failed: ${finished.reason}`);
  }
  return performance.now() - t0;
}

async function sweepRuns(
  dir: string,
  raw: Record<string, unknown>,
  round: number,
): Promise<{ total: number; own: number }> {
  const file = path.join(dir, 'bench.layerrot.json');
  fs.writeFileSync(file, JSON.stringify(raw));
  const t0 = performance.now();
  if (!loadConfigFile(file).ok) throw new Error('the bench config is invalid');
  const sweep = new SweepRun(
    {
      configFile: file,
      sweepDir: path.join(dir, `sweep-${round}`),
      jobs: 1,
      overrides: {},
      request: async (configFile, config, runsDir) => ({
        engine: 'tfjs',
        configFile,
        runsDir,
        name: config.name,
        runnerScript: RUNNER,
      }),
      log: () => {},
    },
    raw,
    'bench',
  );
  const outcome = await sweep.start();
  if (!outcome.allCompleted) throw new Error('a sweep point failed');
  const total = performance.now() - t0;
  return { total, own: total - [...sweep.runMillis.values()].reduce((a, b) => a + b, 0) };
}

export async function sweepBench(): Promise<void> {
  console.log('\n### Sweep overhead\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-sweep-'));
  try {
    const raw = tinyConfig();
    await plainRuns(dir, raw); // warm-up (file cache, wasm compilation cache)
    const diffs: number[] = [];
    const own: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const plain = await plainRuns(dir, raw);
      const swept = await sweepRuns(dir, raw, round);
      diffs.push((swept.total - plain) / POINTS);
      own.push(swept.own / POINTS);
      console.log(
        `round ${round + 1}: ${POINTS} runs ${(plain / 1000).toFixed(2)} s alone, ${(swept.total / 1000).toFixed(2)} s as a sweep, of which ${(swept.own / 1000).toFixed(3)} s the sweep's own`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] / 1000;
    console.log(
      `sweep overhead per point beyond its run: ${median(own).toFixed(3)} s measured inside the sweep, ${median(diffs).toFixed(3)} s end to end against runs alone (medians of ${ROUNDS} rounds; target under 2 s)`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  sweepBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
