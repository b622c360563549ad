// Sweeps, two measures. `node out/bench/sweep.js [--rounds N] [--goal-only] [--no-overhead]`,
// or a section of `npm run bench`.
//
// 1. Points per hour with --jobs 2 against --jobs 1 on this machine (issue 12's goal: at least
//    1.7x on 2 cores with tfjs, one thread a run). A seed sweep (tfjs on wasm, an MNIST MLP
//    [128, 128] on 24,000 images) runs with --jobs 1 and --jobs 2, the order alternating every
//    round; a round's ratio is the jobs-1 wall time over the jobs-2 wall time (the same points in
//    both: the ratio of points per hour). Medians and ranges over the rounds (--rounds), and a
//    JSON line (`{"bench":"sweep-jobs",...}`) with them, the CPU time a point and the cores each
//    sweep kept busy. Two sizes of point:
//    - the goal's: 8 points of 5 epochs, about 6 s each on this machine (still short: a point of
//      the evidence sweep, examples/sweeps/mnist-layca-rate, trains for about 37 s), 5 rounds;
//    - short points: 20 points of one epoch, about 1.2 s each, where what a job pays once weighs
//      most (below), 3 rounds. Printed, not a goal.
//    Each job keeps one runner process for its points (src/launch/tfjs.ts, WarmRunner): loading
//    tfjs and wasm, reading the data and compiling the hot code (about 1 s of CPU, 0.5 s of it on
//    V8's background threads) is paid once a job, not once a point; --jobs 2 pays it twice, and at
//    once, so on short points it is a few percent of the sweep. A job also keeps its data: a point
//    builds its split into the arrays of the one before (src/engine/data/load.ts, DatasetCache).
//    A tfjs run is not quite one thread: V8 optimizes tfjs's op dispatch on background threads,
//    over a runner's first several points (less since it inlines less on wasm:
//    src/engine/backend/select.ts), which a lone run gets for free on the idle core and two runs
//    share. Wall time is what the goal is about, and other load on the machine (this one is a
//    VM: rounds of the same sweep differ by up to 10%) moves it: the line carries the load
//    averages before and after, and an estimate for an idle machine from CPU times.
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
/** Points of the overhead measure's sweeps and runs. */
const OVERHEAD_POINTS = 4;
const ROUNDS = 3;

/** A --jobs comparison's sweep: `points` seeds, each `epochs` epochs on `train` MNIST images. */
export interface SweepSize {
  points: number;
  train: number;
  epochs: number;
  /** Rounds unless --rounds says otherwise. */
  rounds: number;
}
/** The goal's points: about 6 s each here; five rounds, as rounds here differ by up to 10%. */
export const GOAL_POINTS: SweepSize = { points: 8, train: 24000, epochs: 5, rounds: 5 };
/** Short points (about 1.2 s each), where a job's warm-up weighs most. */
export const SHORT_POINTS: SweepSize = { points: 20, train: 24000, epochs: 1, rounds: ROUNDS };

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** The --jobs comparison's sweep of `size`: an MNIST MLP on wasm. */
function jobsConfig(size: SweepSize): Record<string, unknown> {
  return {
    name: 'jobs',
    backend: 'wasm',
    dataset: { name: 'mnist', validationSplit: 0.1, trainSubset: size.train, testSubset: 1000 },
    model: { type: 'mlp', hidden: [128, 128] },
    optimizer: { type: 'sgd', layca: true, learningRate: 0.01, momentum: 0.9 },
    schedule: { epochs: size.epochs, batchSize: 128 },
    sweep: { seed: Array.from({ length: size.points }, (_, i) => i + 1) },
  };
}

/** Median and range of a list. */
export function stats(xs: number[]): { median: number; min: number; max: number } {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/**
 * CPU seconds of this process and of its children that have ended (its runners), from
 * /proc/self/stat (Linux; NaN elsewhere). Clock ticks of 1/100 s, as on every Linux build.
 */
function cpuSeconds(): number {
  try {
    const rest = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i]), 0) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of a process (all its threads) and of its main thread, from /proc (Linux), or undefined. */
function threadCpu(pid: number): { all: number; main: number } | undefined {
  const read = (file: string) => {
    const rest = fs.readFileSync(file, 'utf8').split(') ')[1].split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  };
  try {
    return { all: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

/**
 * The runners' CPU time, all threads and main thread, sampled every 100 ms while they run (the
 * last sample of each: its last tenth of a second is missed, alike for both).
 */
class RunnerCpu {
  private readonly last = new Map<number, { all: number; main: number }>();
  private readonly timer = setInterval(() => this.sample(), 100);
  private readonly pids = new Set<number>();

  track(pid: number | undefined): void {
    if (pid !== undefined) this.pids.add(pid);
  }

  private sample(): void {
    for (const pid of this.pids) {
      const t = threadCpu(pid);
      if (t) this.last.set(pid, t);
      else this.pids.delete(pid);
    }
  }

  /** Stops sampling; the sums over the runners. */
  close(): { all: number; main: number } {
    clearInterval(this.timer);
    let all = 0;
    let main = 0;
    for (const t of this.last.values()) {
      all += t.all;
      main += t.main;
    }
    return { all, main };
  }
}

/** A sweep's wall time and CPU time (this process and its runners; the runners' main threads), in seconds, with `jobs` points at once. */
async function timedSweep(
  dir: string,
  raw: Record<string, unknown>,
  jobs: number,
  label: string,
): Promise<{ wall: number; cpu: number; runners: { all: number; main: number } }> {
  const file = path.join(dir, `${label}.layerrot.json`);
  fs.writeFileSync(file, JSON.stringify(raw));
  const runnerCpu = new RunnerCpu();
  const cpu0 = cpuSeconds();
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
      startRun: (opts) => {
        const handle = startRun(opts);
        runnerCpu.track(handle.pid);
        return handle;
      },
    },
    raw,
    label,
  );
  const outcome = await sweep.start();
  const runners = runnerCpu.close();
  if (!outcome.allCompleted) throw new Error(`a point of the --jobs ${jobs} sweep failed`);
  return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - cpu0, runners };
}

export interface JobsResult {
  bench: 'sweep-jobs';
  engine: 'tfjs';
  cores: number;
  points: number;
  /** MNIST training images a point trains on, and for how many epochs. */
  trainImages: number;
  epochs: number;
  /** Wall seconds a point with --jobs 1 (the sweep's median over its points). */
  pointSeconds: number;
  rounds: number;
  /** Wall seconds of the whole sweep. */
  jobs1Seconds: { median: number; min: number; max: number };
  jobs2Seconds: { median: number; min: number; max: number };
  /** Points per hour with --jobs 2 over --jobs 1, per round. */
  ratio: { median: number; min: number; max: number };
  /** CPU seconds a point (its runner and its share of the sweep's process). */
  jobs1CpuPerPoint: { median: number; min: number; max: number };
  jobs2CpuPerPoint: { median: number; min: number; max: number };
  /** CPU seconds a point of the sweep's own process (IPC, the runs' logs and status files): the rest is its runner's. */
  jobs1SweepCpuPerPoint: { median: number; min: number; max: number };
  jobs2SweepCpuPerPoint: { median: number; min: number; max: number };
  /** Cores busy on average (CPU time over wall time): what each sweep got of the machine. */
  jobs1Cores: { median: number; min: number; max: number };
  jobs2Cores: { median: number; min: number; max: number };
  /**
   * The ratio to expect on an idle machine, from CPU times (less moved by other load than wall
   * times): with --jobs 1 the sweep takes its runner's main-thread CPU time (its other threads,
   * V8's compilers and GC, and the sweep's process use the idle core); with --jobs 2 the cores
   * are shared, all CPU time counts: min(2, cores x the --jobs 1 runner's main thread / all CPU
   * time of the --jobs 2 sweep, its process included), per round.
   */
  idleEstimate: { median: number; min: number; max: number };
  /** The runners' main threads' share of their CPU time. */
  mainThreadShare: { median: number; min: number; max: number };
  /** At least 1.7x: the goal's points' (GOAL_POINTS); short points are printed, not judged. */
  goal: number;
  met: boolean;
  loadBefore: number[];
  loadAfter: number[];
}

/** Points per hour with --jobs 2 over --jobs 1 on points of `size`, alternated over `rounds` rounds after a warm-up point. */
export async function jobsBench(size: SweepSize, rounds = flag('rounds', size.rounds)): Promise<JobsResult> {
  const points = size.points;
  const judged = size === GOAL_POINTS;
  console.log(
    `\n### Sweep: points per hour with --jobs 2 against --jobs 1 (${points} points of ${size.epochs} epoch${size.epochs === 1 ? '' : 's'} on ${size.train} images${judged ? '' : '; not a goal'})\n`,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-jobs-'));
  try {
    const raw = jobsConfig(size);
    const loadBefore = os.loadavg();
    await timedSweep(dir, jobsConfig({ ...size, points: 1, epochs: 1 }), 1, 'warmup'); // file cache
    type Timed = Awaited<ReturnType<typeof timedSweep>>;
    const one: Timed[] = [];
    const two: Timed[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [1, 2] : [2, 1];
      for (const jobs of order) (jobs === 1 ? one : two).push(await timedSweep(dir, raw, jobs, `r${round}-j${jobs}`));
      const [a, b] = [one[round], two[round]];
      console.log(
        `round ${round + 1}: ${points} points in ${a.wall.toFixed(1)} s with --jobs 1 (${(a.cpu / a.wall).toFixed(2)} cores busy), ${b.wall.toFixed(1)} s with --jobs 2 (${(b.cpu / b.wall).toFixed(2)} cores busy): ${(a.wall / b.wall).toFixed(2)}x the points per hour`,
      );
    }
    const ratio = stats(one.map((s, i) => s.wall / two[i].wall));
    const result: JobsResult = {
      bench: 'sweep-jobs',
      engine: 'tfjs',
      cores: os.availableParallelism(),
      points: points,
      trainImages: size.train,
      epochs: size.epochs,
      pointSeconds: stats(one.map((s) => s.wall / points)).median,
      rounds,
      jobs1Seconds: stats(one.map((s) => s.wall)),
      jobs2Seconds: stats(two.map((s) => s.wall)),
      ratio,
      jobs1CpuPerPoint: stats(one.map((s) => s.cpu / points)),
      jobs2CpuPerPoint: stats(two.map((s) => s.cpu / points)),
      jobs1SweepCpuPerPoint: stats(one.map((s) => (s.cpu - s.runners.all) / points)),
      jobs2SweepCpuPerPoint: stats(two.map((s) => (s.cpu - s.runners.all) / points)),
      jobs1Cores: stats(one.map((s) => s.cpu / s.wall)),
      jobs2Cores: stats(two.map((s) => s.cpu / s.wall)),
      idleEstimate: stats(
        two.map((s, i) => Math.min(2, (Math.min(2, os.availableParallelism()) * one[i].runners.main) / s.cpu)),
      ),
      mainThreadShare: stats([...one, ...two].map((s) => s.runners.main / s.runners.all)),
      goal: 1.7,
      met: judged && ratio.median >= 1.7,
      loadBefore,
      loadAfter: os.loadavg(),
    };
    const cpu = (s: { median: number }) => s.median.toFixed(2);
    console.log(
      `CPU a point: ${cpu(result.jobs1CpuPerPoint)} s with --jobs 1, ${cpu(result.jobs2CpuPerPoint)} s with --jobs 2; cores busy: ${cpu(result.jobs1Cores)} and ${cpu(result.jobs2Cores)}; the runners' main threads do ${(100 * result.mainThreadShare.median).toFixed(0)}% of their CPU work (medians)`,
    );
    console.log(
      `of which the sweep's own process: ${cpu(result.jobs1SweepCpuPerPoint)} s a point with --jobs 1, ${cpu(result.jobs2SweepCpuPerPoint)} s with --jobs 2`,
    );
    console.log(
      `on an idle machine, from those CPU times: about ${cpu(result.idleEstimate)}x (range ${result.idleEstimate.min.toFixed(2)}-${result.idleEstimate.max.toFixed(2)})`,
    );
    const verdict = judged
      ? `goal at least 1.7x on 2 cores: ${result.met ? 'met' : 'NOT met'}`
      : `short points, not a goal: a job's warm-up weighs more`;
    console.log(
      `--jobs 2 gives ${ratio.median.toFixed(2)}x the points per hour of --jobs 1 on points of ${result.pointSeconds.toFixed(1)} s (median of ${rounds} rounds, range ${ratio.min.toFixed(2)}-${ratio.max.toFixed(2)}; ${verdict}; ${result.cores} cores, load average ${loadBefore[0].toFixed(1)} before, ${result.loadAfter[0].toFixed(1)} after)`,
    );
    if (Math.max(loadBefore[0], result.loadAfter[0]) > result.cores)
      console.log(
        `note: other work loaded the machine (load average above its ${result.cores} cores): each sweep got a share of it, so the wall-time ratio says more about that share than about the sweep; the estimate above is the one to read`,
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
    sweep: { seed: Array.from({ length: OVERHEAD_POINTS }, (_, i) => i + 1) },
  };
}

async function plainRuns(dir: string, raw: Record<string, unknown>): Promise<number> {
  const t0 = performance.now();
  for (let seed = 1; seed <= OVERHEAD_POINTS; seed++) {
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

/** The goal's --jobs comparison, then the short points' (unless --goal-only), then the overhead (unless --no-overhead). */
export async function sweepBench(overhead = !process.argv.includes('--no-overhead')): Promise<JobsResult> {
  const jobs = await jobsBench(GOAL_POINTS);
  if (!process.argv.includes('--goal-only')) await jobsBench(SHORT_POINTS);
  if (overhead) await overheadBench();
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
      diffs.push((swept.total - plain) / OVERHEAD_POINTS);
      own.push(swept.own / OVERHEAD_POINTS);
      console.log(
        `round ${round + 1}: ${OVERHEAD_POINTS} runs ${(plain / 1000).toFixed(2)} s alone, ${(swept.total / 1000).toFixed(2)} s as a sweep, of which ${(swept.own / 1000).toFixed(3)} s the sweep's own`,
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
