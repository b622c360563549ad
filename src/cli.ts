// `layer-rotation`: the command-line tool. check CONFIG | train CONFIG | sweep CONFIG | report RUN_DIR |
// compare RUN_OR_SWEEP_DIR... | export --tensorboard RUN_DIR
import { DEFAULT_LAG_MARGIN, DEFAULT_TARGET } from './runlog/defaults';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  addEvent,
  describeSkipped,
  layerTable,
  type LayerRow,
  readRunLog,
  type RunLog,
  samplingOf,
} from './runlog/read';
import { oneLine, terminalText } from './runlog/sanitize';
import { formatError, loadConfigFile, sweepNotTrainable } from './engine/config/validate';
import { BACKEND_NAMES, isBackendName } from './engine/backend/names';
import type { RunEvent } from './runlog/events';
import { EVENTS_FILE } from './runlog/runfolder';
import { describeFsError, FileSystemError } from './runlog/fsError';
import {
  bundledPythonPackageDir,
  defaultPythonCandidates,
  findPython,
  PROBE_TIMEOUT_MS,
  type PythonSearch,
} from './launch/python';
import { decideEngine, ENGINE_SETTINGS, isEngineSetting, needsPython, wantedEngine } from './launch/engineChoice';
import { fileStore, ProbeCache } from './launch/probeCache';
import { pytorchRequest } from './launch/pytorch';
import type { CommonRequest, RunRequest } from './launch/request';
import { startRun } from './launch/supervisor';
import { rotationCurvesSvg } from './runlog/svg';
import { readRawConfig, SweepRun, sweepFolderName } from './experiments/sweepRun';
import type { EngineSetting, TrainingConfig } from './engine/config/types';
import { fixed, percent } from './runlog/format';
import { judgeLog, ONE_RUN_CANNOT_TELL, runMessage, runStatus } from './runlog/verdict';
import { buildComparison, findColumn, sortRows } from './experiments/compare';
import {
  alignedTable,
  comparisonCsv,
  curvesCsvChunks,
  formatComparison,
  formatEvidence,
} from './experiments/compareExport';
import { NotARunError, readRunFolders } from './experiments/compareFolders';
import { accuracyRotationSvg, curvesGridSvg } from './experiments/compareSvg';
import { exportTensorBoard } from './runlog/tensorboard';

const USAGE = `usage:
  layer-rotation check CONFIG
  layer-rotation train CONFIG [--out RUNS_DIR] [--epochs N] [--max-steps N] [--backend ${BACKEND_NAMES.join('|')}]
                              [--engine ${ENGINE_SETTINGS.join('|')}] [--python PYTHON] [--processes N] [--progress-every SECONDS]
  layer-rotation sweep CONFIG [--jobs N] [--shard I/N] [--out DIR] [--engine ${ENGINE_SETTINGS.join('|')}] [--epochs N] [--max-steps N]
                              [--backend ${BACKEND_NAMES.join('|')}] [--python PYTHON]
  layer-rotation report RUN_DIR [--svg FILE]
  layer-rotation compare RUN_OR_SWEEP_DIR... [--csv FILE] [--curves-csv FILE] [--svg FILE] [--curves-svg FILE]
                              [--x min|mean] [--sort [-]COLUMN]
  layer-rotation export --tensorboard RUN_DIR [--out LOGDIR]

  check   validates a *.layerrot.json config: exit 0 when valid, 2 with one file:line:col line per error
  train   trains it in a child process, with progress on stderr, into RUNS_DIR/<run id>/ (with curves.svg)
          (default RUNS_DIR: runs/ beside the config); exit 0 on success, 1 on a failed run, 2 on an invalid config;
          --engine overrides the config's engine (default auto: pytorch when a Python with torch is found, else
          tfjs; what the check found is remembered in ~/.cache/layer-rotation/); the pytorch engine runs in PYTHON
          (default: $LAYER_ROTATION_PYTHON, else the first with torch of an active venv's python, python3 and
          python on PATH, /usr/bin/python3), with N data-parallel processes (torchrun) when --processes > 1; a config with a
          sweep block is refused (use sweep); when stderr is not a terminal, a progress line per epoch and at
          least every --progress-every seconds within one (default 5)
  sweep   trains every point of the config's sweep grid, N at a time (--jobs, default 1), each a run in
          DIR/<name>-sweep/<point id>/ (default DIR: runs/ beside the config) with sweep.json listing them all;
          again, it resumes: completed points are skipped, the others rerun; --shard I/N runs only the points
          whose index mod N is I-1 (cluster job arrays, one shared folder); exit 0 when all its points completed
  report  prints a saved run's layer table and writes its layer rotation curves as SVG (default RUN_DIR/curves.svg)
  compare prints a table of runs (a sweep's folder stands for its runs): the config values that differ, accuracies,
          final layer rotation (min and mean over layers) and lagging layers; --csv writes it (with every layer's
          distance), --curves-csv the curves (run, step, epoch, layer, distance), --svg test accuracy against the
          final rotation (--x: min or mean over layers, default min), --curves-svg the curves side by side;
          --sort orders by a column (its name, a config path or a layer; -COLUMN: descending); exit 2 when a
          folder is not a run
  export  writes a run's layer rotation (a scalar per layer, layer_rotation/<layer>, and one chart of them all in
          TensorBoard's custom scalars), loss, accuracy and learning rate as a TensorBoard event file, into RUN_DIR
          (default) or LOGDIR/<run folder's name>/, replacing the one an earlier export wrote: tensorboard --logdir LOGDIR`;

class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
}

function parseArgs(argv: string[], known: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const [key, inline] = a.slice(2).split('=', 2);
    if (!known.includes(key)) throw new UsageError(`unknown option --${key}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${key} needs a value`);
    flags.set(key, value);
  }
  return { positional, flags };
}

function positiveInt(flags: Map<string, string>, key: string): number | undefined {
  const v = flags.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${key} must be a positive integer, got '${v}'`);
  return n;
}

// Every line printed goes through terminalText: no escape sequence from a config or a log reaches
// the terminal (values that must stay on their line are made oneLine where they are put in it).
function out(s: string): void {
  process.stdout.write(`${terminalText(s)}\n`);
}
function err(s: string): void {
  process.stderr.write(`${terminalText(s)}\n`);
}

function check(argv: string[]): number {
  const { positional } = parseArgs(argv, []);
  if (positional.length !== 1) throw new UsageError('check takes one CONFIG');
  const result = loadConfigFile(positional[0]);
  for (const e of result.errors) out(formatError(e));
  if (!result.ok) return 2;
  out(`${positional[0]}: valid`);
  return 0;
}

/** The per-layer table; `judged` false (a run not fit, not learning, or too early): no layer is marked either way. */
export function formatTable(rows: LayerRow[], target: number, judged = true): string {
  const header = ['layer', 'kind', 'params', 'distance', `vs target ${target}`];
  const body = rows.map((r) => [
    oneLine(r.name, MAX_CELL),
    oneLine(r.kind, MAX_CELL),
    r.params === null ? 'n/a' : r.params.toLocaleString('en-US'),
    r.distance === null ? 'n/a' : r.distance.toFixed(3),
    !judged ? 'not judged' : r.lagging ? 'LAGGING' : 'ok',
  ]);
  return alignedTable(
    header,
    body,
    header.map((_, i) => i === 2 || i === 3),
  ).join('\n');
}

/** Layers listed at most in the CLI's table (the verdict counts them all). */
export const MAX_TABLE_LAYERS = 500;
/** Characters of a name or kind shown in a table cell. */
const MAX_CELL = 80;

/** What report (and train, at its end) prints of a run's log, line by line (no line holds a line break). */
export function outcomeLines(log: RunLog): string[] {
  const lines: string[] = [];
  const out = (s: string) => lines.push(s);
  const verdict = judgeLog(log);
  const target = log.started?.target ?? DEFAULT_TARGET;
  const threshold = target - (log.started?.lagMargin ?? DEFAULT_LAG_MARGIN);
  const judged = !verdict || verdict.run === 'judged';
  // A run that ended before run_started (a config, data or model failure) has no layers: no table.
  if (log.started) {
    const rows = layerTable(log, verdict);
    for (const line of formatTable(
      rows.length > MAX_TABLE_LAYERS ? rows.slice(0, MAX_TABLE_LAYERS) : rows,
      target,
      judged,
    ).split('\n'))
      out(line);
    if (rows.length > MAX_TABLE_LAYERS) {
      let lagging = 0;
      for (let i = MAX_TABLE_LAYERS; i < rows.length; i++) if (rows[i].lagging) lagging++;
      out(
        `... ${(rows.length - MAX_TABLE_LAYERS).toLocaleString('en-US')} more layers not listed (${rows.length.toLocaleString('en-US')} in all${judged ? `; ${lagging.toLocaleString('en-US')} of them lagging` : ''})`,
      );
    }
    for (const s of samplingOf(log))
      out(
        `note: the log has ${s.seen.toLocaleString('en-US')} ${s.kind} records; ${s.kept.toLocaleString('en-US')} of them (evenly spaced, the latest included) were kept for the verdict and the curves`,
      );
    out('');
  }
  const f = log.finished;
  if (f?.testAccuracy !== null && f?.testAccuracy !== undefined)
    out(`test accuracy: ${(100 * f.testAccuracy).toFixed(2)}%  (test loss ${fixed(f.testLoss, 4)})`);
  if (verdict) {
    out(`verdict: ${runStatus(verdict)}${verdict.run === 'judged' ? ` below ${threshold} (target ${target})` : ''}`);
    const why = runMessage(verdict);
    if (why) out(why);
    if (verdict.run === 'judged' && verdict.finished && verdict.layers.some((l) => l.lagging))
      out(
        `${ONE_RUN_CANNOT_TELL} Compare configurations with \`layer-rotation sweep\` and \`layer-rotation compare\`.`,
      );
  }
  if (f) out(`run ${f.status}: ${oneLine(f.reason)}`);
  else out('run unfinished: the log has no run_finished event (still running, or the runner was killed)');
  return lines;
}

function printOutcome(log: RunLog): void {
  for (const line of outcomeLines(log)) out(line);
}

/** The most time between two progress lines when stderr is not a terminal (python/layer_rotation/progress.py's LINE_SECONDS). */
const LINE_SECONDS = 5;

/**
 * A one-line progress bar, redrawn in place on a terminal; otherwise a line per epoch and, within a
 * long epoch, a line at least every `lineMs` (as the PyTorch engine's CLI, python/layer_rotation/progress.py).
 */
class Progress {
  constructor(private readonly lineMs = LINE_SECONDS * 1000) {}

  private readonly tty = process.stderr.isTTY === true;
  private started?: Extract<RunEvent, { type: 'run_started' }>;
  private t0 = Date.now();
  private lastDrawn = 0;
  private lastLine = Date.now();

  private line(text: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    err(text);
    this.lastLine = Date.now();
  }

  onEvent(e: RunEvent): void {
    if (e.type === 'run_started') {
      this.started = e;
      this.t0 = Date.now();
      this.line(
        `${e.name}: ${e.dataset.name} (${e.dataset.train} train, ${e.dataset.validation} validation, ${e.dataset.test} test), ${e.layers.length} kernel layers, ${e.optimizer}, backend ${e.backendDescription ?? e.backend}`,
      );
    } else if (e.type === 'batch' && this.started) {
      const now = Date.now();
      if (this.tty ? now - this.lastDrawn < 100 : now - this.lastLine < this.lineMs) return;
      const total = this.started.totalSteps;
      const frac = Math.min(1, e.step / total);
      const elapsed = (now - this.t0) / 1000;
      const eta = frac > 0 ? elapsed * (1 / frac - 1) : 0;
      const sps = (e.step * (this.started.batchSize ?? Number.NaN)) / Math.max(elapsed, 1e-3);
      // The epoch this step belongs to (its last step is still in it).
      const epoch = `${Math.min(this.started.epochs, Math.max(1, Math.ceil(e.epoch)))}/${this.started.epochs}`;
      if (!this.tty) {
        this.line(
          ` epoch ${epoch}, step ${e.step}/${total} (${(100 * frac).toFixed(0)}%): loss ${fixed(e.loss, 4)}, acc ${percent(e.accuracy, 2)}, ${fixed(sps, 0)} samples/s, ETA ${formatSeconds(eta)}`,
        );
        return;
      }
      this.lastDrawn = now;
      const width = 28;
      const filled = Math.round(frac * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      process.stderr.write(
        `\r epoch ${epoch} ${bar} ${(100 * frac).toFixed(0).padStart(3)}% loss ${fixed(e.loss, 4)} acc ${percent(e.accuracy, 1)} ${fixed(sps, 0)} samples/s ETA ${formatSeconds(eta)}  `,
      );
    } else if (e.type === 'epoch_end' && this.started) {
      const val =
        e.valAccuracy === null ? '' : `, val loss ${fixed(e.valLoss, 4)}, val acc ${percent(e.valAccuracy, 2)}`;
      this.line(
        ` epoch ${e.epoch}/${this.started.epochs}: loss ${fixed(e.loss, 4)}, acc ${percent(e.accuracy, 2)}${val}, ${fixed(e.seconds, 1)} s, ${fixed(e.samplesPerSecond, 0)} samples/s`,
      );
    } else if (e.type === 'log' && !(e.level === 'info' && said.has(e.message))) {
      this.line(`${e.level}: ${e.message}`);
    } else if (e.type === 'run_finished' && this.tty) {
      process.stderr.write('\r\x1b[K');
    }
  }
}

function formatSeconds(s: number): string {
  const t = Math.round(s);
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`;
}

/** The folder of the bundled .wasm files when running from the esbuild bundle. */
/** The runner: next to the bundled CLI (dist/), or in launch/ beside the compiled one (out/src/). */
function runnerScript(): string {
  const bundled = path.join(__dirname, 'runner.js');
  return fs.existsSync(bundled) ? bundled : path.join(__dirname, 'launch', 'runner.js');
}

function bundledWasmPath(): string | undefined {
  return fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm-simd.wasm')) ? __dirname : undefined;
}

async function trainCommand(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, [
    'out',
    'epochs',
    'max-steps',
    'backend',
    'engine',
    'python',
    'processes',
    'progress-every',
  ]);
  if (positional.length !== 1) throw new UsageError('train takes one CONFIG');
  const every = Number(flags.get('progress-every') ?? LINE_SECONDS);
  if (!(every >= 0))
    throw new UsageError(`--progress-every must be a number of seconds, got '${flags.get('progress-every')}'`);
  const configFile = path.resolve(positional[0]);
  const backend = flags.get('backend');
  if (backend !== undefined && !isBackendName(backend))
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
  const epochs = positiveInt(flags, 'epochs');
  const maxSteps = positiveInt(flags, 'max-steps');
  const engine = engineFlag(flags);
  const processes = positiveInt(flags, 'processes');
  const checked = loadConfigFile(configFile);
  for (const e of checked.errors) err(formatError(e));
  if (!checked.ok) return 2;
  if (checked.config.sweep) {
    err(sweepNotTrainable(positional[0]));
    return 2;
  }
  const common: CommonRequest = {
    configFile,
    runsDir: path.resolve(flags.get('out') ?? path.join(path.dirname(configFile), 'runs')),
    name: checked.config.name,
    epochs,
    maxSteps,
  };
  let request: RunRequest;
  try {
    request = await requestFor(common, checked.config, { engine, backend, python: flags.get('python'), processes });
  } catch (e) {
    if (!(e instanceof PythonMissing)) throw e;
    err(e.message);
    return 1;
  }

  const progress = new Progress(every * 1000);
  let handle: ReturnType<typeof startRun>;
  try {
    handle = startRun({
      ...request,
      onEvent: (e) => progress.onEvent(e),
      onOutput: (text) => process.stderr.write(text),
    });
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    err(`layer-rotation: ${e.message}`);
    return 1;
  }
  err(`run ${handle.runId}: logging to ${path.join(handle.runDir, EVENTS_FILE)}`);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      err('\nstopping after the current step (Ctrl-C again to kill)...');
      void handle.stop(10000);
    } else handle.kill();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const finished = await handle.done;
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);

  // The run's folder may be gone or unwritable (the reason the run failed): say so, no stack.
  let log: RunLog | undefined;
  try {
    log = readRunLog(path.join(handle.runDir, EVENTS_FILE));
  } catch (e) {
    err(`cannot read the run's log ${path.join(handle.runDir, EVENTS_FILE)}: ${describeFsError(e)}`);
  }
  if (log) {
    if (!log.finished) addEvent(log, finished); // its end, as the supervisor has it, when the log could not take it
    printOutcome(log);
  }
  out(`run folder: ${handle.runDir}`);
  if (log?.started) {
    const curves = path.join(handle.runDir, 'curves.svg');
    try {
      out(`layer rotation curves: ${writeCurves(log, curves)}`);
    } catch (e) {
      err(`cannot write ${curves}: ${describeFsError(e)}`);
      try {
        fs.rmSync(curves, { force: true }); // no empty or partial SVG left behind
      } catch {
        // as it is
      }
    }
  }
  if (finished.status === 'failed') {
    err(`training failed: ${finished.reason}\nthe run's log is ${path.join(handle.runDir, EVENTS_FILE)}`);
    return 1;
  }
  return finished.status === 'stopped' ? 130 : 0;
}

/** --engine, checked. */
function engineFlag(flags: Map<string, string>): EngineSetting | undefined {
  const engine = flags.get('engine');
  if (engine !== undefined && !isEngineSetting(engine))
    throw new UsageError(`--engine must be one of ${ENGINE_SETTINGS.join(', ')}, got '${engine}'`);
  return engine;
}

class PythonMissing extends Error {}

/**
 * The run request of a checked config, its engine decided by src/launch/engineChoice.ts: the
 * pytorch engine's or tfjs's. Python is searched for once per process (a sweep's points share the
 * answer), through the probe cache file; the decision's line is said once (and goes into the run's log).
 */
async function requestFor(
  common: CommonRequest,
  config: TrainingConfig,
  opts: { engine?: EngineSetting; backend?: string; python?: string; processes?: number },
): Promise<RunRequest> {
  const ask = { config: config.engine, override: opts.engine, overrideName: '--engine' };
  const decision = decideEngine(ask, needsPython(ask) ? await searchPython(opts.python) : undefined);
  if (!decision.ok) throw new PythonMissing(decision.message);
  // Said when there was a choice (auto) or a Python found (pytorch); tfjs asked for by name needs no word.
  const say = decision.engine === 'pytorch' || wantedEngine(ask) === 'auto';
  if (say && !said.has(decision.line)) err(decision.line);
  said.add(decision.line);
  const withNotes = { ...common, notes: [decision.line] };
  if (decision.engine === 'pytorch')
    return pytorchRequest(withNotes, config, decision.python.executable, bundledPythonPackageDir(), opts.processes);
  const backend = opts.backend as TfjsBackend;
  return { ...withNotes, engine: 'tfjs', runnerScript: runnerScript(), backend, wasmPath: bundledWasmPath() };
}
/** The lines about the engine said so far (the run log's copy is not said again). */
const said = new Set<string>();
let pythonSearch: Promise<PythonSearch> | undefined;
function searchPython(given = process.env.LAYER_ROTATION_PYTHON): Promise<PythonSearch> {
  pythonSearch ??= findPython(
    given ? [given] : defaultPythonCandidates(),
    PROBE_TIMEOUT_MS,
    new ProbeCache(fileStore()).probe,
  );
  return pythonSearch;
}
type TfjsBackend = Extract<RunRequest, { engine: 'tfjs' }>['backend'];

async function sweepCommand(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, [
    'jobs',
    'shard',
    'out',
    'engine',
    'epochs',
    'max-steps',
    'backend',
    'python',
  ]);
  if (positional.length !== 1) throw new UsageError('sweep takes one CONFIG');
  const configFile = path.resolve(positional[0]);
  const jobs = positiveInt(flags, 'jobs') ?? 1;
  const epochs = positiveInt(flags, 'epochs');
  const maxSteps = positiveInt(flags, 'max-steps');
  const backend = flags.get('backend');
  if (backend !== undefined && !isBackendName(backend))
    throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
  const engine = engineFlag(flags);
  let shard: { index: number; of: number } | undefined;
  const shardText = flags.get('shard');
  if (shardText !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shardText);
    const [index, of] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || of < 1 || index < 1 || index > of)
      throw new UsageError(`--shard must be I/N with 1 <= I <= N (e.g. 2/8), got '${shardText}'`);
    shard = { index, of };
  }
  const checked = loadConfigFile(configFile);
  for (const e of checked.errors) err(formatError(e));
  if (!checked.ok) return 2;
  if (!checked.config.sweep) {
    err(`${positional[0]}: no sweep block: add "sweep": { "optimizer.learningRate": [0.01, 0.1] } (or use train)`);
    return 2;
  }
  const raw = readRawConfig(configFile);
  const name = checked.config.name;
  const sweepDir = path.resolve(flags.get('out') ?? path.join(path.dirname(configFile), 'runs'), sweepFolderName(name));
  const sweep = new SweepRun(
    {
      configFile,
      sweepDir,
      jobs,
      shard,
      overrides: { epochs, maxSteps, engine, backend },
      request: (pointFile, config, runsDir) =>
        requestFor({ configFile: pointFile, runsDir, name: config.name, epochs, maxSteps }, config, {
          engine,
          backend,
          python: flags.get('python'),
        }),
      log: err,
    },
    raw,
    name,
  );
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      err('\nstopping the running points after their current step (Ctrl-C again to kill)...');
      void sweep.stop(10000);
    } else sweep.kill();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let outcome: Awaited<ReturnType<SweepRun['start']>>;
  try {
    outcome = await sweep.start();
  } catch (e) {
    if (!(e instanceof FileSystemError)) throw e;
    err(`layer-rotation: ${e.message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  const width = outcome.points.reduce((w, p) => Math.max(w, p.id.length), 0);
  for (const p of outcome.points) {
    const acc = p.testAccuracy === null ? '' : `  test accuracy ${(100 * p.testAccuracy).toFixed(2)}%`;
    out(`${p.id.padEnd(width)}  ${p.status}${acc}`);
  }
  out(`sweep folder: ${sweepDir} (${path.join(sweepDir, 'sweep.json')})`);
  out(`compare its runs: layer-rotation compare ${JSON.stringify(sweepDir)}`);
  if (outcome.stopped) err('sweep stopped: run it again to resume');
  return outcome.allCompleted ? 0 : 1;
}

function writeCurves(log: RunLog, file: string): string {
  fs.writeFileSync(file, rotationCurvesSvg(log));
  return file;
}

function report(argv: string[]): number {
  const { positional, flags } = parseArgs(argv, ['svg']);
  if (positional.length !== 1) throw new UsageError('report takes one RUN_DIR');
  const runDir = path.resolve(positional[0]);
  const file = fs.existsSync(runDir) && fs.statSync(runDir).isDirectory() ? path.join(runDir, EVENTS_FILE) : runDir;
  if (!fs.existsSync(file)) {
    err(`${file}: no run log there (a run folder holds ${EVENTS_FILE})`);
    return 2;
  }
  const log = readRunLog(file);
  for (const line of describeSkipped(log)) err(line);
  if (!log.started) {
    err(`${file}: the log has no run_started event, so its layers are unknown`);
    return 1;
  }
  out(
    `${oneLine(log.started.name, MAX_CELL)} (${oneLine(log.started.runId, MAX_CELL)}), backend ${oneLine(log.started.backend, MAX_CELL)}`,
  );
  printOutcome(log);
  out(
    `layer rotation curves: ${writeCurves(log, path.resolve(flags.get('svg') ?? path.join(path.dirname(file), 'curves.svg')))}`,
  );
  return 0;
}

function compare(argv: string[]): number {
  const { positional, flags } = parseArgs(argv, ['csv', 'curves-csv', 'svg', 'curves-svg', 'x', 'sort']);
  if (positional.length === 0) throw new UsageError('compare takes one or more RUN_OR_SWEEP_DIR');
  const x = flags.get('x') ?? 'min';
  if (x !== 'min' && x !== 'mean') throw new UsageError(`--x must be min or mean, got '${x}'`);
  let read: ReturnType<typeof readRunFolders>;
  try {
    read = readRunFolders(positional);
  } catch (e) {
    if (!(e instanceof NotARunError)) throw e;
    err(`layer-rotation compare: ${e.message}`);
    return 2;
  }
  for (const line of read.leftOut) err(line);
  if (read.runs.length === 0) {
    err('layer-rotation compare: no run to compare');
    return 2;
  }
  const model = buildComparison(read.runs);
  for (const r of model.rows) for (const line of r.skipped) err(line);
  let rows = model.rows;
  const sortBy = flags.get('sort');
  if (sortBy !== undefined) {
    const found = findColumn(model, sortBy);
    if (!found)
      throw new UsageError(
        `--sort: no column '${sortBy}'; the columns are ${model.columns.map((c) => c.label).join(', ')}`,
      );
    rows = sortRows(rows, found.column.key, found.descending);
  }
  out(formatComparison(model, rows));
  const evidence = formatEvidence(model, rows);
  if (evidence) out(evidence);
  const logs = new Map(read.runs.map((r) => [r.folder, r.log]));
  const written = (what: string, file: string) => out(`${what}: ${file}`);
  const csv = flags.get('csv');
  if (csv) {
    fs.writeFileSync(path.resolve(csv), comparisonCsv(model, rows));
    written('table (CSV)', path.resolve(csv));
  }
  const curvesCsv = flags.get('curves-csv');
  if (curvesCsv) {
    const fd = fs.openSync(path.resolve(curvesCsv), 'w');
    try {
      for (const chunk of curvesCsvChunks(rows.map((r) => ({ runId: r.runId, log: logs.get(r.folder)! }))))
        fs.writeSync(fd, chunk);
    } finally {
      fs.closeSync(fd);
    }
    written('curves (CSV)', path.resolve(curvesCsv));
  }
  const svg = flags.get('svg');
  if (svg) {
    fs.writeFileSync(path.resolve(svg), accuracyRotationSvg(model, x));
    written('test accuracy against rotation (SVG)', path.resolve(svg));
  }
  const curvesSvg = flags.get('curves-svg');
  if (curvesSvg) {
    fs.writeFileSync(path.resolve(curvesSvg), curvesGridSvg(rows.map((row) => ({ row, log: logs.get(row.folder)! }))));
    written('curves side by side (SVG)', path.resolve(curvesSvg));
  }
  return 0;
}

function exportCommand(argv: string[]): number {
  const { positional, flags } = parseArgs(argv, ['tensorboard', 'out']);
  const runArg = flags.get('tensorboard');
  if (runArg === undefined || positional.length > 0) throw new UsageError('export takes --tensorboard RUN_DIR');
  const runDir = path.resolve(runArg);
  const file = fs.existsSync(runDir) && fs.statSync(runDir).isDirectory() ? path.join(runDir, EVENTS_FILE) : runDir;
  if (!fs.existsSync(file)) {
    err(`${file}: no run log there (a run folder holds ${EVENTS_FILE})`);
    return 2;
  }
  // LOGDIR/<run folder's name>/, or the run folder itself (in the folder of runs, the LOGDIR then).
  const runFolder = path.dirname(file);
  const logRoot = path.resolve(flags.get('out') ?? path.dirname(runFolder));
  const logDir = path.join(logRoot, path.basename(runFolder));
  let done: ReturnType<typeof exportTensorBoard>;
  try {
    done = exportTensorBoard(file, logDir);
  } catch (e) {
    err(`layer-rotation export: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  for (const line of done.notes) err(line);
  out(`TensorBoard event file: ${done.file} (${done.layers} layers, ${done.rotations} rotation records)`);
  out(`see it: tensorboard --logdir ${JSON.stringify(logRoot)}`);
  return 0;
}

/** Output piped into a reader that stops early (`| head`): end quietly, as Unix tools do. */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr])
    if (stream.listenerCount('error') === 0)
      stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
        throw e;
      });
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'check':
        return check(rest);
      case 'train':
        return await trainCommand(rest);
      case 'sweep':
        return await sweepCommand(rest);
      case 'report':
        return report(rest);
      case 'compare':
        return compare(rest);
      case 'export':
        return exportCommand(rest);
      case '--help':
      case '-h':
      case 'help':
        out(USAGE);
        return 0;
      default:
        throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`layer-rotation: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      err(`layer-rotation: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    },
  );
}
