// `npm run bench`: training throughput per backend, the cost of rotation monitoring and of Layca,
// and PyTorch's throughput on the same models. Prints figures and a markdown summary; writes the
// raw results to bench-results/latest.json.
// The PyTorch goals (bench/pytorch_perf.py) and the frameworks' callbacks' cost per record
// (bench/callbacks_perf.py) join the goals table at the end.
//
//   npm run compile && node out/bench/bench.js [--goals] [--python PATH]... [--openblas DIR [--openblas-only]] [--pairs 100] [--blocks 12] [--cpu-cnn-batch 4] [--no-cpu] [--no-pytorch] [--no-engines] [--no-webview] [--no-watcher] [--no-compare]
//
// Models: (a) the default example's (examples/mnist-default.layerrot.json: its model, optimizer,
// batch size and learning rate); (b) a small MNIST CNN from the VGG builder: 28x28x1 -> conv 32
// 3x3 'same' relu -> maxpool 2 -> conv 64 3x3 'same' relu -> global average pooling -> dense 10,
// plain SGD, batch 64. tfjs trains on the default example's MNIST training split with the
// engine's own trainStep (batch copy, forward, gradients, optimizer step, loss read-back);
// PyTorch (bench/pytorch_ref.py) trains the same shapes on random data. Then the two engines
// end to end: the CLI trains both models for an epoch with --engine tfjs and --engine pytorch.
//
// Method: the variants of a comparison share one model and alternate unit by unit (one step, or
// one block of steps), the order rotating every round, after a warm-up. A rate is the batch size
// over the median step time; a cost is the median of the per-round ratios of a variant to its
// baseline of the same round (with the interquartile range), in CPU time: wasm computes
// synchronously on this one thread, so CPU time is the work done, less disturbed than wall-clock
// time by whatever else runs on the machine.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../src/engine/backend/select';
import type { ConcreteBackendName } from '../src/engine/backend/select';
import type { ModelSpec, OptimizerSpec, TrainingConfig } from '../src/engine/config/types';
import { loadConfigFile, withModelDefaults } from '../src/engine/config/validate';
import { loadDataset } from '../src/engine/data/load';
import { defaultPythonCandidates, findPython, probePython } from '../src/launch/python';
import type { Dataset } from '../src/engine/data/types';
import { registerGradients } from '../src/engine/gradients';
import { buildModel, type Model } from '../src/engine/models';
import { createOptimizer, type Optimizer } from '../src/engine/optim/optimizers';
import { layerMultipliers, paramGroups } from '../src/engine/optim/schedule';
import { Rng } from '../src/engine/rng';
import { RotationMonitor } from '../src/engine/rotation';
import { trainStep } from '../src/engine/trainer';
import { type Goal, goalsTable, runJsonScript, status } from './goals';
import { sweepBench } from './sweep';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_CONFIG = path.join(ROOT, 'examples', 'mnist-default.layerrot.json');
const RESULTS = path.join(ROOT, 'bench-results', 'latest.json');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
/** Rounds of alternated single steps on wasm (the CNN gets a quarter). */
const PAIRS = flag('pairs', 100);
/** Rounds of alternated blocks of recordEvery steps, for the default monitoring frequency. */
const BLOCKS = flag('blocks', 12);
/** cpu takes ~1.5 s per CNN sample: a batch of 64 would take ~100 s a step. */
const CPU_CNN_BATCH = flag('cpu-cnn-batch', 4);
const WARMUP = 3;
const CNN_BATCH = 64;
/** Plain SGD for the CNN, in tfjs and PyTorch alike. */
const CNN_SGD = {
  type: 'sgd',
  learningRate: 0.01,
  momentum: 0,
  nesterov: false,
  layca: false,
  weightDecay: 0,
  alpha: 0,
  layerMultipliers: undefined,
} as const;
const CNN_SPEC = withModelDefaults({ type: 'vgg', filters: [32, 64], convsPerStage: 1, batchNorm: false, dense: [] });
const CNN_NAME = 'CNN 28x28x1: conv32-pool-conv64-GAP-dense10';
/** Targets for the monitoring overhead, in % of the step. */
const TARGET = { everyStep: 3, default: 1 };

const T0 = performance.now();
const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0)}s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// Statistics and formatting.

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
const median = (values: number[]) => quantile(values, 0.5);

interface Cost {
  /** Median over rounds of 100 * (variant / baseline - 1), with its interquartile range. */
  percent: number;
  p25: number;
  p75: number;
}
function cost(variant: number[], baseline: number[]): Cost {
  const r = variant.map((v, i) => 100 * (v / baseline[i] - 1));
  return { percent: median(r), p25: quantile(r, 0.25), p75: quantile(r, 0.75) };
}

const rate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(2));
const signed = (x: number, digits = 1) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}%`;
const pct = (c: Cost) => `${signed(c.percent)} (IQR ${c.p25.toFixed(1)} to ${c.p75.toFixed(1)})`;

// ---------------------------------------------------------------------------------------------
// Training runs and the alternating harness.

/** A model and its optimizers (with and without Layca), stepping through a shuffled training split. */
class Run {
  readonly model: Model;
  private readonly optimizers = new Map<boolean, Optimizer>();
  private readonly order: Uint32Array;
  private pos = 0;

  constructor(
    spec: ModelSpec,
    private readonly opt: OptimizerSpec,
    private readonly data: Dataset,
    readonly batch: number,
    seed: number,
  ) {
    this.model = buildModel(spec, data.inputShape, data.classes, seed);
    this.order = new Rng(seed).permutation(data.train.n);
  }

  step(layca = this.opt.layca): void {
    if (this.pos + this.batch > this.order.length) this.pos = 0;
    const idx = this.order.subarray(this.pos, this.pos + this.batch);
    this.pos += this.batch;
    trainStep(this.model, this.optimizer(layca), this.data, idx, this.opt.learningRate);
  }

  private optimizer(layca: boolean): Optimizer {
    let o = this.optimizers.get(layca);
    if (!o) {
      const spec = { ...this.opt, layca };
      const multipliers = layerMultipliers(
        spec,
        this.model.layers.map((l) => l.name),
      );
      o = createOptimizer(spec, paramGroups(this.model.params, spec, multipliers));
      this.optimizers.set(layca, o);
    }
    return o;
  }

  dispose(): void {
    for (const o of this.optimizers.values()) o.dispose();
    this.model.dispose();
  }
}

/** Runs f with a run that is disposed afterwards (models share variable names: one at a time). */
async function withRun<T>(run: Run, f: (run: Run) => T | Promise<T>): Promise<T> {
  try {
    return await f(run);
  } finally {
    run.dispose();
  }
}

/** Milliseconds of CPU time this process has used (all its threads). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Per variant, per round: the wall-clock and CPU milliseconds of its unit. */
interface Times {
  wall: number[][];
  cpu: number[][];
}

/** Runs `units` (one step or one block each) alternately for `rounds` rounds, after warming each up. */
function alternate(units: (() => void)[], rounds: number, warmup = WARMUP): Times {
  for (const u of units) for (let i = 0; i < warmup; i++) u();
  const wall = units.map(() => [] as number[]);
  const cpu = units.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < units.length; k++) {
      const i = (r + k) % units.length;
      const t0 = performance.now();
      const c0 = cpuMs();
      units[i]();
      cpu[i].push(cpuMs() - c0);
      wall[i].push(performance.now() - t0);
    }
  }
  return { wall, cpu };
}

/** A rotation monitor whose records are timed (CPU ms), warm-up records excluded. */
function timedMonitor(kernels: tf.Variable[]) {
  const monitor = new RotationMonitor(kernels);
  const cpu: number[] = [];
  return {
    record(): void {
      const c0 = cpuMs();
      monitor.record();
      cpu.push(cpuMs() - c0);
    },
    medianMs: () => median(cpu.slice(WARMUP)),
    dispose: () => monitor.dispose(),
  };
}

const stepsPerSecond = (wallMs: number[], batch: number) => (1000 * batch) / median(wallMs);

interface KernelProfile {
  kernels: number;
  kernelMs: number;
  /** Wall-clock time of the profiled step. */
  stepMs: number;
  top: { name: string; ms: number; share: number }[];
}

/** Kernel times of one step (tf.profile), summed by kernel name: the profiled step of median duration among 5. */
async function profileStep(run: Run): Promise<KernelProfile> {
  const profiles: KernelProfile[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const info = await tf.profile(() => run.step());
    const stepMs = performance.now() - t0;
    const byKernel = new Map<string, number>();
    for (const k of info.kernels)
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0));
    const kernelMs = [...byKernel.values()].reduce((a, b) => a + b, 0);
    const top = [...byKernel.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([name, ms]) => ({ name, ms, share: ms / kernelMs }));
    profiles.push({ kernels: info.kernels.length, kernelMs, stepMs, top });
  }
  return profiles.sort((a, b) => a.stepMs - b.stepMs)[2];
}

// ---------------------------------------------------------------------------------------------
// The measurements.

interface Setup {
  config: TrainingConfig;
  mlpData: Dataset;
  cnnData: Dataset;
  stepsPerEpoch: number;
  recordEvery: number;
}

interface Throughput {
  mlp?: number;
  mlpNoLayca?: number;
  cnn?: number;
  cnnBatch: number;
}

const mlpRun = (s: Setup) =>
  new Run(s.config.model, s.config.optimizer, s.mlpData, s.config.schedule.batchSize, s.config.seed);
const cnnRun = (s: Setup, batch = CNN_BATCH) =>
  new Run(CNN_SPEC, { ...s.config.optimizer, ...CNN_SGD }, s.cnnData, batch, s.config.seed);

/**
 * wasm, default model: samples/s with and without Layca, and the cost of Layca and of monitoring.
 * The cost of a record at every step is measured end to end on alternated steps and as record()
 * alone; at the default frequency it is record() alone spread over recordEvery steps (a 0.5%
 * effect is far below what whole blocks resolve on a shared machine), checked end to end on
 * alternated blocks of recordEvery steps.
 */
function measureWasmMlp(s: Setup, run: Run) {
  const monitor = timedMonitor(run.model.kernels);
  const layca = s.config.optimizer.layca;
  log(
    `wasm: default model, ${PAIRS} rounds of alternated steps: as configured, + a rotation record, ${layca ? 'without' : 'with'} Layca`,
  );
  const steps = alternate(
    [
      () => run.step(layca),
      () => {
        run.step(layca);
        monitor.record();
      },
      () => run.step(!layca),
    ],
    PAIRS,
  );
  const [plain, recorded, flipped] = [0, 1, 2];
  const recordMs = monitor.medianMs();

  const n = s.recordEvery;
  log(`wasm: default model, ${BLOCKS} rounds of alternated blocks of ${n} steps, with and without one record`);
  const blockSteps = () => {
    for (let i = 0; i < n; i++) run.step(layca);
  };
  const blockAndRecord = () => {
    blockSteps();
    monitor.record();
  };
  const blocks = alternate([blockSteps, blockAndRecord], BLOCKS, 1);
  monitor.dispose();

  const stepCpuMs = median(steps.cpu[plain]);
  return {
    samplesPerSecond: stepsPerSecond(steps.wall[plain], run.batch),
    samplesPerSecondFlipped: stepsPerSecond(steps.wall[flipped], run.batch),
    stepCpuMs,
    monitoring: {
      recordEvery: n,
      recordCpuMs: recordMs,
      everyStep: cost(steps.cpu[recorded], steps.cpu[plain]),
      everyStepFromRecord: (100 * recordMs) / stepCpuMs,
      defaultFromRecord: (100 * recordMs) / stepCpuMs / n,
      defaultBlocks: cost(blocks.cpu[1], blocks.cpu[0]),
    },
    layca: layca ? cost(steps.cpu[plain], steps.cpu[flipped]) : cost(steps.cpu[flipped], steps.cpu[plain]),
    times: { steps, blocks },
  };
}

/** wasm, CNN: samples/s and the cost of a rotation record at every step. */
function measureWasmCnn(run: Run) {
  const monitor = timedMonitor(run.model.kernels);
  const rounds = Math.max(8, Math.round(PAIRS / 4));
  log(`wasm: CNN, ${rounds} rounds of alternated steps, with and without a rotation record`);
  const stepAndRecord = () => {
    run.step();
    monitor.record();
  };
  const steps = alternate([() => run.step(), stepAndRecord], rounds);
  monitor.dispose();
  const stepCpuMs = median(steps.cpu[0]);
  const recordCpuMs = monitor.medianMs();
  return {
    samplesPerSecond: stepsPerSecond(steps.wall[0], run.batch),
    stepCpuMs,
    recordCpuMs,
    everyStep: cost(steps.cpu[1], steps.cpu[0]),
    everyStepFromRecord: (100 * recordCpuMs) / stepCpuMs,
    times: { steps },
  };
}

/** Other backends: samples/s only, with few steps on cpu, which is slow. */
async function measureThroughput(backend: ConcreteBackendName, s: Setup): Promise<Throughput> {
  const slow = backend === 'cpu';
  const plan = slow
    ? { warmup: 1, mlpSteps: 5, cnnSteps: 2, cnnBatch: CPU_CNN_BATCH }
    : { warmup: WARMUP, mlpSteps: 30, cnnSteps: 20, cnnBatch: CNN_BATCH };
  const result: Throughput = { cnnBatch: plan.cnnBatch };
  log(`${backend}: default model, ${plan.mlpSteps} steps`);
  result.mlp = await withRun(mlpRun(s), (run) =>
    stepsPerSecond(alternate([() => run.step()], plan.mlpSteps, plan.warmup).wall[0], run.batch),
  );
  log(`${backend}: CNN at batch ${plan.cnnBatch}, ${plan.cnnSteps} steps`);
  result.cnn = await withRun(cnnRun(s, plan.cnnBatch), (run) =>
    stepsPerSecond(alternate([() => run.step()], plan.cnnSteps, plan.warmup).wall[0], run.batch),
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// PyTorch.

interface TorchResult {
  python: string;
  pythonVersion: string;
  torch: string;
  blas: string;
  blasInfo: string;
  blasLibraries: string[];
  mkldnn: boolean;
  /** By "mlp/2", "cnn/1" (model / threads). */
  samplesPerSecond: Record<string, number>;
}

/** The interpreter with torch both PyTorch measurements use, or why there is none. */
async function torchPython(): Promise<{ python?: string; reason?: string }> {
  const found = await findPython(['/usr/bin/python3', 'python3']);
  return found.ok ? { python: found.info.executable } : { reason: found.message.split('\n')[0] };
}

function runPytorch(
  s: Setup,
  { python, reason }: { python?: string; reason?: string },
): TorchResult | { unavailable: string } {
  if (!python) return { unavailable: `no python3 with torch (${reason})` };
  const o = s.config.optimizer;
  const hidden = s.config.model.type === 'mlp' ? s.config.model.hidden : [];
  const args = {
    mlp: {
      sizes: [s.mlpData.inputShape[0], ...hidden, s.mlpData.classes],
      batch: s.config.schedule.batchSize,
      lr: o.learningRate,
      momentum: o.momentum,
      nesterov: o.nesterov,
      steps: 5,
    },
    cnn: {
      inputShape: s.cnnData.inputShape,
      filters: CNN_SPEC.type === 'vgg' ? CNN_SPEC.filters : [],
      classes: s.cnnData.classes,
      batch: CNN_BATCH,
      lr: CNN_SGD.learningRate,
      momentum: 0,
      nesterov: false,
      steps: 10,
    },
    rounds: 4,
    threads: [2, 1],
  };
  log(`PyTorch (${python}): both models, 2 and 1 threads, ${args.rounds} rounds`);
  const r = spawnSync(python, [path.join(ROOT, 'bench', 'pytorch_ref.py'), JSON.stringify(args)], {
    encoding: 'utf8',
    timeout: 180_000,
  });
  try {
    return { python, ...(JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Omit<TorchResult, 'python'>) };
  } catch {
    return {
      unavailable: `bench/pytorch_ref.py failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The two engines end to end on the same configs: the CLI trains each config for one epoch with
// the tfjs engine (wasm) and with the pytorch engine (Debian's torch, 2 threads), and the
// samples/s of the runs' epoch_end events are compared (they include data batching, monitoring
// and everything else a run does).

interface EngineRow {
  config: string;
  samples: number;
  tfjs?: number;
  pytorch?: number;
  problems: string[];
}

function engineConfigs(): { name: string; config: Record<string, unknown> }[] {
  const base = JSON.parse(JSON.stringify(loadSetup().config)) as TrainingConfig;
  const mlp = {
    ...base,
    name: 'bench-engines-mlp',
    schedule: { ...base.schedule, epochs: 1 },
    dataset: { ...base.dataset, trainSubset: 20000, validationSplit: 0 },
  };
  const cnn = {
    ...base,
    name: 'bench-engines-cnn',
    model: CNN_SPEC,
    optimizer: { ...base.optimizer, ...CNN_SGD, layerMultipliers: undefined },
    schedule: { epochs: 1, batchSize: CNN_BATCH, warmupEpochs: 0 },
    dataset: { ...base.dataset, trainSubset: 4000, testSubset: 2000, validationSplit: 0 },
    stopping: {},
  };
  return [
    { name: `default example (${describeOptimizer(base.optimizer)}), 1 epoch on 20,000 samples`, config: mlp },
    { name: `${CNN_NAME}, ${describeOptimizer(CNN_SGD)}, batch ${CNN_BATCH}, 1 epoch on 4,000 samples`, config: cnn },
  ];
}

function engineSamplesPerSecond(
  configFile: string,
  engine: 'tfjs' | 'pytorch',
  python: string | undefined,
): { rate?: number; problem?: string } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-engines-'));
  try {
    const args = [path.join(ROOT, 'bin', 'layer-rotation.js'), 'train', configFile, '--out', out, '--engine', engine];
    if (engine === 'tfjs') args.push('--backend', 'wasm');
    if (python) args.push('--python', python);
    const r = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      timeout: 900_000,
      env: { ...process.env, OMP_NUM_THREADS: '2' },
    });
    const runDir = fs.readdirSync(out).map((d) => path.join(out, d))[0];
    const events =
      runDir && fs.existsSync(path.join(runDir, 'events.jsonl'))
        ? fs
            .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [];
    const epoch = events.find((e) => e.type === 'epoch_end');
    if (!epoch)
      return {
        problem: `${engine}: no epoch_end (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`,
      };
    return { rate: epoch.samplesPerSecond };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

function compareEngines({
  python,
  reason,
}: {
  python?: string;
  reason?: string;
}): EngineRow[] | { unavailable: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-configs-'));
  try {
    return engineConfigs().map(({ name, config }) => {
      const file = path.join(dir, `${(config as { name: string }).name}.layerrot.json`);
      fs.writeFileSync(file, JSON.stringify(config, null, 2));
      const row: EngineRow = {
        config: name,
        samples: Number((config as { dataset: { trainSubset: number } }).dataset.trainSubset),
        problems: [],
      };
      log(`engines end to end: ${name}: tfjs (wasm)`);
      const t = engineSamplesPerSecond(file, 'tfjs', undefined);
      row.tfjs = t.rate;
      if (t.problem) row.problems.push(t.problem);
      if (python) {
        log(`engines end to end: ${name}: pytorch`);
        const p = engineSamplesPerSecond(file, 'pytorch', python);
        row.pytorch = p.rate;
        if (p.problem) row.problems.push(p.problem);
      } else row.problems.push(`pytorch: no python3 with torch (${reason})`);
      return row;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function loadSetup(): Setup {
  const checked = loadConfigFile(DEFAULT_CONFIG);
  if (!checked.ok) throw new Error(`${DEFAULT_CONFIG}: ${checked.errors.map((e) => e.message).join('; ')}`);
  const config = checked.config;
  const mlpData = loadDataset(config.dataset, { seed: config.seed, flatten: true });
  if (mlpData.inputShape[0] !== 28 * 28)
    throw new Error(`the bench expects the default example to train on MNIST, not ${mlpData.name}`);
  // The same images as [28, 28, 1]: one channel, so the same memory layout.
  const cnnData: Dataset = { ...mlpData, inputShape: [28, 28, 1] };
  // As src/engine/trainer.ts computes them.
  const stepsPerEpoch = Math.ceil(mlpData.train.n / config.schedule.batchSize);
  const recordEvery =
    config.monitoring.everySteps ?? Math.max(1, Math.floor(stepsPerEpoch / config.monitoring.recordsPerEpoch));
  return { config, mlpData, cnnData, stepsPerEpoch, recordEvery };
}

function describeOptimizer(
  o: Pick<OptimizerSpec, 'type' | 'layca' | 'learningRate' | 'momentum' | 'nesterov'>,
): string {
  return `${o.type.toUpperCase()}${o.layca ? '-Layca' : ''} lr ${o.learningRate}${o.momentum ? ` momentum ${o.momentum}${o.nesterov ? ' (Nesterov)' : ''}` : ''}`;
}

type WasmResults = { mlp: ReturnType<typeof measureWasmMlp>; cnn: ReturnType<typeof measureWasmCnn> };
type BackendStatus = { name: ConcreteBackendName; description?: string; unavailable?: string };

interface Results {
  date: string;
  machine: {
    node: string;
    cores: number;
    cpu: string;
    loadAverageStart: number;
    loadAverageEnd: number;
    tfjsCore: string;
  };
  models: { mlp: string; cnn: string };
  layca: boolean;
  data: string;
  stepsPerEpoch: number;
  backends: BackendStatus[];
  throughput: Partial<Record<ConcreteBackendName, Throughput>>;
  wasm?: WasmResults;
  profiles: Record<string, KernelProfile>;
  pytorch: TorchResult | { unavailable: string };
  engines: EngineRow[] | { unavailable: string };
  seconds: number;
}

async function main(): Promise<void> {
  if (process.argv.includes('--goals')) {
    // Only the goals' measurements (a few minutes), not the throughput tables.
    goals.push(...(await pytorchGoals()));
    goals.push(...(await callbackGoals()));
    renderBench();
    if (!process.argv.includes('--no-sweep')) await sweepGoal();
    printGoals(goals);
    return;
  }
  const loadStart = os.loadavg()[0];
  registerGradients();
  const s = loadSetup();
  const m = s.config.model;
  const models = {
    mlp: `${m.type === 'mlp' ? `MLP ${[784, ...m.hidden, 10].join('-')}` : m.type}, ${describeOptimizer(s.config.optimizer)}, batch ${s.config.schedule.batchSize}`,
    cnn: `${CNN_NAME}, ${describeOptimizer(CNN_SGD)}, batch ${CNN_BATCH}`,
  };
  log(
    `default example: ${models.mlp}; ${s.mlpData.train.n} training samples: ${s.stepsPerEpoch} steps/epoch, a rotation record every ${s.recordEvery} steps`,
  );

  const backends: BackendStatus[] = [];
  const throughput: Partial<Record<ConcreteBackendName, Throughput>> = {};
  const profiles: Record<string, KernelProfile> = {};
  let wasm: WasmResults | undefined;
  for (const name of ['node-gpu', 'node', 'wasm', 'cpu'] as ConcreteBackendName[]) {
    const status: BackendStatus = { name };
    backends.push(status);
    if (name === 'cpu' && process.argv.includes('--no-cpu')) {
      status.unavailable = 'skipped (--no-cpu)';
      continue;
    }
    try {
      status.description = (await selectBackend(name)).description;
      log(`${name}: ${status.description}`);
    } catch (err) {
      status.unavailable = err instanceof Error ? err.message : String(err);
      log(`${name}: unavailable`);
      continue;
    }
    try {
      if (name === 'wasm') {
        const mlp = await withRun(mlpRun(s), async (run) => {
          const result = measureWasmMlp(s, run);
          profiles.mlp = await profileStep(run);
          return result;
        });
        const cnn = await withRun(cnnRun(s), async (run) => {
          const result = measureWasmCnn(run);
          profiles.cnn = await profileStep(run);
          return result;
        });
        wasm = { mlp, cnn };
        const layca = s.config.optimizer.layca;
        throughput.wasm = {
          mlp: mlp.samplesPerSecond,
          mlpNoLayca: layca ? mlp.samplesPerSecondFlipped : mlp.samplesPerSecond,
          cnn: cnn.samplesPerSecond,
          cnnBatch: CNN_BATCH,
        };
      } else {
        throughput[name] = await measureThroughput(name, s);
      }
    } catch (err) {
      status.unavailable = `failed while measuring: ${err instanceof Error ? err.message : String(err)}`;
      log(`${name}: ${status.unavailable}`);
    }
  }

  const noTorch = process.argv.includes('--no-pytorch') && process.argv.includes('--no-engines');
  const torch = noTorch ? {} : await torchPython();
  const pytorch = process.argv.includes('--no-pytorch')
    ? { unavailable: 'skipped (--no-pytorch)' }
    : runPytorch(s, torch);
  const engines = process.argv.includes('--no-engines')
    ? { unavailable: 'skipped (--no-engines)' }
    : compareEngines(torch);
  const results: Results = {
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      loadAverageStart: loadStart,
      loadAverageEnd: os.loadavg()[0],
      tfjsCore: tf.version_core,
    },
    models,
    layca: s.config.optimizer.layca,
    data: "tfjs: the default example's MNIST training split; PyTorch: random data of the same shapes",
    stepsPerEpoch: s.stepsPerEpoch,
    backends,
    throughput,
    wasm,
    profiles,
    pytorch,
    engines,
    seconds: (performance.now() - T0) / 1000,
  };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(report(results));
  console.log(
    `\nRaw results: ${path.relative(process.cwd(), RESULTS)}. Bench run time ${results.seconds.toFixed(0)} s (plus compilation).`,
  );
  goals.push(...(await pytorchGoals()));
  goals.push(...(await callbackGoals()));
  renderBench();
  watcherBench();
  if (process.argv.includes('--no-sweep')) console.log('\n### Sweep overhead\n\nskipped (--no-sweep)');
  else await sweepGoal(true);
  compareBench();
  printGoals(goals);
}

/** --jobs 2 against --jobs 1 (and, with `overhead`, the sweep's own cost per point). */
async function sweepGoal(overhead = false): Promise<void> {
  const jobs = await sweepBench(overhead);
  goals.push({
    id: 'sweep.jobs2',
    what: 'sweep --jobs 2: points per hour / --jobs 1',
    where: `tfjs (wasm), ${jobs.cores} cores, ${jobs.points} points of ${jobs.pointSeconds.toFixed(1)} s`,
    unit: 'x',
    op: '>=',
    target: jobs.goal,
    measure: { median: jobs.ratio.median, lo: jobs.ratio.min, hi: jobs.ratio.max, n: jobs.rounds },
  });
}

/** The goals measured by the parts of the bench, printed and written at the end. */
const goals: Goal[] = [];
const GOALS_FILE = path.join(ROOT, 'bench-results', 'goals.json');

function printGoals(list: readonly Goal[]): void {
  console.log('\n### Performance goals\n');
  console.log(goalsTable(list));
  const counts = { met: 0, 'not met': 0, 'not measured': 0 };
  for (const g of list) counts[status(g)]++;
  console.log(`\n${counts.met} met, ${counts['not met']} not met, ${counts['not measured']} not measured.`);
  fs.mkdirSync(path.dirname(GOALS_FILE), { recursive: true });
  fs.writeFileSync(
    GOALS_FILE,
    `${JSON.stringify({ date: new Date().toISOString(), goals: list.map((g) => ({ ...g, status: status(g) })) }, null, 2)}\n`,
  );
  console.log(`Written to ${path.relative(process.cwd(), GOALS_FILE)}.`);
}

/**
 * The PyTorch goals (bench/pytorch_perf.py) on every torch build found: the interpreter the
 * engine would pick (an active venv, PATH), the system's (Debian's python3-torch), and that one
 * again with OpenBLAS (OpenMP build) in place of the reference BLAS when --openblas DIR names a
 * folder holding its libblas.so.3 (e.g. /usr/lib/x86_64-linux-gnu/openblas-openmp, or one
 * unpacked from `apt-get download libopenblas0-openmp`). `--python PATH` (repeatable) picks the
 * interpreters instead.
 */
async function pytorchGoals(): Promise<Goal[]> {
  if (process.argv.includes('--no-pytorch')) return [];
  const builds: { python: string; env: NodeJS.ProcessEnv; note: string }[] = (await torchPythons()).map((python) => ({
    python,
    env: process.env,
    note: '',
  }));
  const i = process.argv.indexOf('--openblas');
  const openblas = i >= 0 ? process.argv[i + 1] : undefined;
  const system = builds.find((b) => b.python === '/usr/bin/python3');
  // --openblas-only: the system's torch with OpenBLAS alone (its reference BLAS run takes minutes).
  if (openblas && system && process.argv.includes('--openblas-only')) builds.splice(builds.indexOf(system), 1);
  if (openblas && system)
    builds.push({
      python: system.python,
      env: { ...process.env, LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
      note: ', OpenBLAS-openmp',
    });
  const threads = Math.min(2, os.availableParallelism());
  const out: Goal[] = [];
  for (const b of builds) {
    log(`PyTorch goals: ${b.python}${b.note}`);
    const r = runJsonScript(
      b.python,
      // 12 repetitions, each variant in every place of the order in turn (pytorch_perf.py).
      [path.join(ROOT, 'bench', 'pytorch_perf.py'), JSON.stringify({ reps: 12, steps: 40, threads })],
      {
        env: b.env,
      },
    );
    if (!r.ok) {
      out.push({
        id: 'pytorch',
        what: 'PyTorch goals',
        where: b.python,
        unit: 'x',
        op: '<=',
        target: 0,
        unavailable: r.problem,
      });
      continue;
    }
    const v = r.value as {
      torch: string;
      blas: string;
      threads: number;
      goals: PyGoal[];
      ratios: Record<string, { median: number; min: number; max: number }>;
    };
    const where = `PyTorch ${v.torch} (${v.blas}), ${v.threads} thread${v.threads === 1 ? '' : 's'}`;
    const aa = v.ratios['a/a: torch-sgd-again/torch-sgd time'];
    if (aa)
      log(
        `${where}: the same SGD loop twice (A/A) lands ${aa.median.toFixed(3)}x apart (range ${aa.min.toFixed(2)}-${aa.max.toFixed(2)}): the resolution of the ratios below`,
      );
    for (const g of v.goals)
      out.push({
        id: `pytorch.${g.id}`,
        what: g.goal,
        where,
        unit: 'x',
        op: g.atMost ? '<=' : '>=',
        target: g.target,
        measure: { median: g.value, lo: g.lo, hi: g.hi, n: g.n },
      });
  }
  if (!builds.length)
    out.push({
      id: 'pytorch',
      what: 'PyTorch goals',
      where: '-',
      unit: 'x',
      op: '<=',
      target: 0,
      unavailable: 'no Python with torch found',
    });
  return out;
}

/** The interpreters with torch, each once, in the order the engine would pick them (an active venv,
 * then PATH and the system's), or those `--python PATH` (repeatable) names. */
async function torchPythons(): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set<string>();
  const venv = process.env.VIRTUAL_ENV ? [path.join(process.env.VIRTUAL_ENV, 'bin', 'python')] : [];
  const chosen = process.argv.flatMap((a, k) => (process.argv[k - 1] === '--python' ? [a] : []));
  for (const python of chosen.length ? chosen : [...venv, ...defaultPythonCandidates()]) {
    const probe = await probePython(python);
    if (!probe.ok || seen.has(probe.info.executable)) continue;
    seen.add(probe.info.executable);
    found.push(python);
  }
  return found;
}

/**
 * The frameworks' callbacks (bench/callbacks_perf.py): each RotationCallback's cost per record
 * (Keras 3, Lightning, Transformers) over RotationLogger's on the same model, on the first
 * interpreter of torchPythons() (the engine's choice, or the first --python); a framework it does
 * not have is not measured, and says so.
 */
async function callbackGoals(): Promise<Goal[]> {
  if (process.argv.includes('--no-pytorch')) return [];
  const ids = ['keras', 'lightning', 'hf'];
  const [python] = await torchPythons();
  const none = (why: string): Goal[] =>
    ids.map((id) => ({
      id: `callbacks.${id}`,
      what: `${id} callback's record / RotationLogger's`,
      where: python ?? '-',
      unit: 'x',
      op: '<=',
      target: 1.1,
      unavailable: why,
    }));
  if (!python) return none('no Python with torch found');
  log(`callback goals: ${python}`);
  const threads = Math.min(2, os.availableParallelism());
  const r = runJsonScript(python, [
    path.join(ROOT, 'bench', 'callbacks_perf.py'),
    JSON.stringify({ reps: 5, steps: 40, threads }),
  ]);
  if (!r.ok) return none(r.problem);
  const v = r.value as { torch: string; threads: number; goals: (Partial<PyGoal> & { unavailable?: string })[] };
  const where = `PyTorch ${v.torch}, ${v.threads} thread${v.threads === 1 ? '' : 's'}`;
  return v.goals.map((g) => ({
    id: `callbacks.${g.id}`,
    what: g.goal ?? `${g.id} callback's record / RotationLogger's`,
    where,
    unit: 'x' as const,
    op: '<=' as const,
    target: g.target ?? 1.1,
    ...(g.unavailable || g.value === undefined
      ? { unavailable: g.unavailable ?? 'not measured' }
      : { measure: { median: g.value, lo: g.lo ?? g.value, hi: g.hi ?? g.value, n: g.n ?? 0 } }),
  }));
}

interface PyGoal {
  id: string;
  goal: string;
  value: number;
  lo: number;
  hi: number;
  n: number;
  target: number;
  atMost: boolean;
}

/** Comparing 50 runs of 20 layers x 2,000 records: reading, the model, the figures, the CSVs. */
function compareBench(): void {
  console.log('\n### Comparing runs\n');
  if (process.argv.includes('--no-compare')) return void console.log('skipped (--no-compare)');
  spawnSync(process.execPath, [path.join(__dirname, 'compare.js')], { stdio: 'inherit' });
}

/** The run-log watcher: pickup latency of an appended line (to the callback, and drawn), CPU with 200 idle logs, a 200 MB log. */
function watcherBench(): void {
  console.log('\n### Watching run logs\n');
  if (process.argv.includes('--no-watcher')) return void console.log('skipped (--no-watcher)');
  spawnSync(process.execPath, [path.join(__dirname, 'watcher.js')], { stdio: 'inherit' });
}

/** The monitor webview's rendering in headless Chromium (200 layers x 20,000 points), when Chromium is there. */
function renderBench(): void {
  console.log('\n### Monitor webview rendering\n');
  if (process.argv.includes('--no-webview')) return void console.log('skipped (--no-webview)');
  const chromium = process.env.LRM_CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(chromium))
    return void console.log(`skipped: no Chromium at ${chromium} (apt-get install chromium)`);
  const root = path.resolve(__dirname, '..', '..');
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-webview.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) return void console.log('skipped: the webview did not build');
  const r = runJsonScript(process.execPath, [path.join(root, 'bench', 'webview-render.mjs')]);
  goals.push(...webviewGoals(r.ok ? r.value : undefined, r.ok ? undefined : r.problem));
}

type Spread = { median: number; min: number; max: number };

/** The monitor's goals from bench/webview-render.mjs's result (its medians and ranges over fresh browsers). */
function webviewGoals(v: Record<string, unknown> | undefined, problem?: string): Goal[] {
  const where = 'monitor webview, headless Chromium (software canvas), 200 layers x 20,000 records';
  const r = v as { reps: number; firstDraw: { drawing: Spread }; append: { drawing: Spread } } | undefined;
  const m = (s: Spread | undefined) => (s && r ? { median: s.median, lo: s.min, hi: s.max, n: r.reps } : undefined);
  return [
    {
      id: 'monitor.firstDraw',
      what: 'first draw: drawing time',
      where,
      unit: 'ms',
      op: '<=',
      target: 100,
      measure: m(r?.firstDraw?.drawing),
      unavailable: problem,
    },
    {
      id: 'monitor.append',
      what: 'an append: drawing time',
      where,
      unit: 'ms',
      op: '<=',
      target: 4,
      measure: m(r?.append?.drawing),
      unavailable: problem,
    },
  ];
}

function report(r: Results): string {
  const lines: string[] = [];
  const torch = 'torch' in r.pytorch ? r.pytorch : undefined;
  const measured = r.backends.filter((b) => r.throughput[b.name]);
  const header = ['model', ...measured.map((b) => `tfjs ${b.name}`)];
  if (torch)
    header.push(`PyTorch ${torch.torch}, 2 threads`, 'PyTorch, 1 thread', 'tfjs wasm / PyTorch, 2 threads', '1 thread');
  lines.push('### Training samples/s', '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  const row = (label: string, pick: (t: Throughput) => number | undefined, torchKey?: string) => {
    const cells = measured.map((b) => {
      const t = r.throughput[b.name]!;
      const v = pick(t);
      return v === undefined
        ? '-'
        : rate(v) + (torchKey === 'cnn' && t.cnnBatch !== CNN_BATCH ? ` (batch ${t.cnnBatch})` : '');
    });
    if (torch) {
      const t2 = torchKey ? torch.samplesPerSecond[`${torchKey}/2`] : undefined;
      const t1 = torchKey ? torch.samplesPerSecond[`${torchKey}/1`] : undefined;
      const w = r.throughput.wasm && pick(r.throughput.wasm);
      const ratio = (t?: number) => (w && t ? `${(w / t).toFixed(2)}x` : '-');
      cells.push(t2 ? rate(t2) : '-', t1 ? rate(t1) : '-', ratio(t2), ratio(t1));
    }
    lines.push(`| ${[label, ...cells].join(' | ')} |`);
  };
  row(`default example: ${r.models.mlp}`, (t) => t.mlp, r.layca ? undefined : 'mlp');
  if (r.layca) row('same without Layca', (t) => t.mlpNoLayca, 'mlp');
  row(r.models.cnn, (t) => t.cnn, 'cnn');

  lines.push('', '### The two engines end to end (the CLI, one epoch each; samples/s of the epoch_end event)', '');
  if ('unavailable' in r.engines) lines.push(`skipped: ${r.engines.unavailable}`);
  else {
    lines.push('| config | tfjs engine (wasm) | pytorch engine | pytorch / tfjs |', '|---|---|---|---|');
    for (const e of r.engines) {
      const ratio = e.tfjs && e.pytorch ? `${(e.pytorch / e.tfjs).toFixed(1)}x` : '-';
      lines.push(`| ${e.config} | ${e.tfjs ? rate(e.tfjs) : '-'} | ${e.pytorch ? rate(e.pytorch) : '-'} | ${ratio} |`);
    }
    for (const e of r.engines) for (const p of e.problems) lines.push(`- ${e.config}: ${p}`);
  }

  const w = r.wasm;
  if (w) {
    const mon = w.mlp.monitoring;
    const verdict = (percent: number, target: number) => `< ${target}%: ${percent < target ? 'met' : 'NOT met'}`;
    const rounds = (t: Times) => t.cpu[0].length;
    lines.push(
      '',
      '### Cost of monitoring and Layca on wasm (added % of a training step, CPU time)',
      '',
      '| measure | cost | how it was measured | target |',
      '|---|---|---|---|',
      `| rotation record every step, default model | ${pct(mon.everyStep)} | ${rounds(w.mlp.times.steps)} rounds of alternated steps; record() alone: ${mon.recordCpuMs.toFixed(2)} ms = ${signed(mon.everyStepFromRecord)} of a ${w.mlp.stepCpuMs.toFixed(1)} ms step | ${verdict(mon.everyStep.percent, TARGET.everyStep)} |`,
      `| rotation record every ${mon.recordEvery} steps (the default), default model | ${signed(mon.defaultFromRecord, 2)} | record() alone / ${mon.recordEvery} steps; check end to end, ${rounds(w.mlp.times.blocks)} rounds of alternated ${mon.recordEvery}-step blocks (too coarse for sub-percent effects on a busy machine): ${pct(mon.defaultBlocks)} | ${verdict(mon.defaultFromRecord, TARGET.default)} |`,
      `| rotation record every step, CNN | ${pct(w.cnn.everyStep)} | ${rounds(w.cnn.times.steps)} rounds of alternated steps; record() alone: ${w.cnn.recordCpuMs.toFixed(2)} ms = ${signed(w.cnn.everyStepFromRecord, 2)} of a ${w.cnn.stepCpuMs.toFixed(0)} ms step | - |`,
      `| Layca on vs off, default model | ${pct(w.mlp.layca)} | ${rounds(w.mlp.times.steps)} rounds of alternated steps | - |`,
    );
  }

  const profiled = Object.entries(r.profiles);
  if (profiled.length) {
    lines.push('', '### Where a wasm training step goes (tf.profile; the median of 5 profiled steps)', '');
    for (const [name, p] of profiled) {
      const outside = Math.max(0, p.stepMs - p.kernelMs);
      lines.push(
        `- ${name === 'mlp' ? 'default model' : 'CNN'}: ${p.kernels} kernel calls, ${p.kernelMs.toFixed(1)} ms in kernels of a ${p.stepMs.toFixed(1)} ms profiled step: ` +
          `~${outside.toFixed(1)} ms (${((100 * outside) / p.stepMs).toFixed(0)}%) outside kernels (engine bookkeeping, batch copy, the profiler itself), ~${((1000 * outside) / p.kernels).toFixed(0)} us per kernel call. ` +
          `Top kernels: ${p.top.map((k) => `${k.name} ${(100 * k.share).toFixed(0)}%`).join(', ')}`,
      );
    }
  }

  const mc = r.machine;
  lines.push('', '### Machine and method', '');
  lines.push(
    `- Node ${mc.node}, ${mc.cores} cores (${mc.cpu}), tfjs-core ${mc.tfjsCore}; load average ${mc.loadAverageStart.toFixed(2)} at the start, ${mc.loadAverageEnd.toFixed(2)} at the end`,
  );
  for (const b of r.backends)
    lines.push(
      `- tfjs ${b.name}: ${[b.description, b.unavailable && `unavailable: ${b.unavailable}`].filter(Boolean).join(' - ')}`,
    );
  for (const b of measured) {
    const t = r.throughput[b.name]!;
    if (t.cnnBatch !== CNN_BATCH)
      lines.push(
        `- tfjs ${b.name}: the CNN ran at batch ${t.cnnBatch}, not ${CNN_BATCH}: a batch of ${CNN_BATCH} takes about 100 s a step there, and its cost per sample does not depend on the batch size`,
      );
  }
  if (torch) {
    lines.push(
      `- PyTorch ${torch.torch} (Python ${torch.pythonVersion}, ${torch.python}), torch.set_num_threads(2) and (1); BLAS: ${torch.blas} (${torch.blasInfo}; ${torch.blasLibraries.join(', ') || 'no BLAS library mapped'})` +
        (torch.blas.startsWith('reference')
          ? ": Debian's python3-torch links the reference BLAS, which makes its Linear layers (the MLP) slow; an OpenBLAS build is many times faster"
          : '') +
        `. Convolutions: ${torch.mkldnn ? 'oneDNN (MKL-DNN), not BLAS' : 'no oneDNN'}`,
    );
  } else {
    lines.push(`- PyTorch: ${(r.pytorch as { unavailable: string }).unavailable}`);
  }
  lines.push(
    `- Data: ${r.data}. A tfjs step is the engine's trainStep (batch copy, forward, gradients, optimizer step, loss read-back).`,
    '- Samples/s: batch size / median wall-clock step time, variants alternated, after a warm-up. Costs: medians (interquartile ranges) of per-round ratios to the baseline of the same round, in CPU time.',
  );
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
