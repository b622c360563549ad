// Sweeps, two measures. `node out/bench/sweep.js [--rounds N] [--no-overhead]`, or a section of
// `npm run bench`.
//
// 1. Points per hour with --jobs 2 against --jobs 1 on this machine (issue 12's goal: at least
//    1.7x on 2 cores with tfjs, one thread a run). The same 4-point sweep (tfjs on wasm, an MNIST
//    MLP on 6,000 images, one epoch: about 4 s of training and 1 s of start-up a point) runs with
//    --jobs 1 and --jobs 2, the order alternating every round; a round's ratio is the jobs-1 wall
//    time over the jobs-2 wall time (the same points in both: the ratio of points per hour). Medians
//    and ranges over the rounds, and one JSON line (`{"bench":"sweep-jobs",...}`) with them. Wall
//    time is what the goal is about, so other load on the machine moves it: the line carries the
//    load averages before and after.
// 2. The sweep's overhead per point beyond its training (target under 2 s), two ways: measured
//    inside the sweep (its wall time minus each point's run, from startRun to the run's end: the
//    point's config and re-check, status files, sweep.json under its lock), and end to end against
//    the same tiny runs (a few hundred synthetic samples, one epoch) started one after the other
//    with the supervisor alone, alternated (noisy on a loaded machine).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SweepRun } from '../src/experiments/sweepRun';
import { loadConfigFile } from '../src/engine/config/validate';
import { startRun } from '../src/launch/supervisor';

const RUNNER = path.resolve(__dirname, '..', 'src', 'launch', 'runner.js');
const POINTS = 4;
const ROUNDS = 3;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The --jobs comparison's sweep: 4 points of a small MNIST MLP on wasm, one epoch each. */
function jobsConfig(): Record<string, unknown> {
  return {
    name: 'jobs',
    backend: 'wasm',
    dataset: { name: 'mnist', validationSplit: 0.1, trainSubset: 6000, testSubset: 1000 },
    model: { type: 'mlp', hidden: [128, 128] },
    optimizer: { type: 'sgd', layca: true, learningRate: 0.01, momentum: 0.9 },
    schedule: { epochs: 1, batchSize: 128 },
    sweep: { seed: Array.from({ length: POINTS }, (_, i) => i + 1) },
  };
}

/** Median and range of a list. */
export function stats(xs: number[]): { median: number; min: number; max: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/** A sweep's wall time in ms with `jobs` points at once. */
async function timedSweep(dir: string, raw: Record<string, unknown>, jobs: number, label: string): Promise<number> {
  const file = path.join(dir, `${label}.layerrot.json`);
  fs.writeFileSync(file, JSON.stringify(raw));
  const t0 = performance.now();
  const sweep = new SweepRun(
    {
      configFile: file,
      sweepDir: path.join(dir, label),
      jobs,
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
    label,
  );
  const outcome = await sweep.start();
  if (!outcome.allCompleted) throw new Error(`a point of the --jobs ${jobs} sweep failed`);
  return performance.now() - t0;
}

export interface JobsResult {
  bench: 'sweep-jobs';
  engine: 'tfjs';
  cores: number;
  points: number;
  rounds: number;
  /** Wall seconds of the whole sweep. */
  jobs1Seconds: { median: number; min: number; max: number };
  jobs2Seconds: { median: number; min: number; max: number };
  /** Points per hour with --jobs 2 over --jobs 1, per round. */
  ratio: { median: number; min: number; max: number };
  goal: number;
  met: boolean;
  loadBefore: number[];
  loadAfter: number[];
}

/** Points per hour with --jobs 2 over --jobs 1, alternated over `rounds` rounds after a warm-up point. */
export async function jobsBench(rounds = flag('rounds', ROUNDS)): Promise<JobsResult> {
  console.log('\n### Sweep: points per hour with --jobs 2 against --jobs 1\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-jobs-'));
  try {
    const raw = jobsConfig();
    const loadBefore = os.loadavg();
    await timedSweep(dir, { ...raw, sweep: { seed: [1] } }, 1, 'warmup'); // file cache, wasm compilation cache
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [1, 2] : [2, 1];
      for (const jobs of order) {
        const ms = await timedSweep(dir, raw, jobs, `r${round}-j${jobs}`);
        (jobs === 1 ? one : two).push(ms / 1000);
      }
      console.log(
        `round ${round + 1}: ${POINTS} points in ${one[round].toFixed(1)} s with --jobs 1, ${two[round].toFixed(1)} s with --jobs 2: ${(one[round] / two[round]).toFixed(2)}x the points per hour`,
      );
    }
    const ratio = stats(one.map((s, i) => s / two[i]));
    const result: JobsResult = {
      bench: 'sweep-jobs',
      engine: 'tfjs',
      cores: os.availableParallelism(),
      points: POINTS,
      rounds,
      jobs1Seconds: stats(one),
      jobs2Seconds: stats(two),
      ratio,
      goal: 1.7,
      met: ratio.median >= 1.7,
      loadBefore,
      loadAfter: os.loadavg(),
    };
    console.log(
      `--jobs 2 gives ${ratio.median.toFixed(2)}x the points per hour of --jobs 1 (median of ${rounds} rounds, range ${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)}; goal at least 1.7x on 2 cores: ${result.met ? 'met' : 'NOT met'}; ${result.cores} cores, load average ${loadBefore[0].toFixed(1)} before, ${result.loadAfter[0].toFixed(1)} after)`,
    );
    console.log(JSON.stringify(result));
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

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

export async function sweepBench(): Promise<JobsResult> {
  const jobs = await jobsBench();
  if (!process.argv.includes('--no-overhead')) await overheadBench();
  return jobs;
}

async function overheadBench(): Promise<void> {
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
