// A run's folder: events.jsonl (the run log), a copy of the config, and summary.json at the end.
import { DEFAULT_FIT_ACCURACY, DEFAULT_LAG_MARGIN, DEFAULT_TARGET } from './defaults';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EpochEnd, RotationEvent, RunFinished, RunStarted, RunStatus } from './events';
import { describeFsError, errorCode, FileSystemError } from './fsError';
import { judgeEnd, laggingEntries, type RunJudgement } from './verdict';

export const EVENTS_FILE = 'events.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const CONFIG_COPY = 'config.layerrot.json';

export interface RunSummary {
  runId: string;
  name: string;
  status: RunFinished['status'];
  reason: string;
  backend: string | null;
  configFile: string | null;
  epoch: number | null;
  step: number | null;
  seconds: number | null;
  testLoss: number | null;
  testAccuracy: number | null;
  target: number | null;
  /** The run as a whole (src/runlog/verdict.ts): judged (it fit: its layers are judged), not-fit or no-learning. */
  verdict: RunJudgement;
  /** The last epoch's training accuracy (null: none measured). */
  trainAccuracy: number | null;
  layers: { name: string; kind: string; params: number | null; finalDistance: number | null; lagging: boolean }[];
  lagging: string[];
}

/**
 * At most this many characters of the name in a run id (python/layer_rotation/events.py's
 * MAX_RUN_NAME): with the time stamp and a suffix, a folder name stays far below the 255 bytes
 * file systems allow, whatever the config's name.
 */
export const MAX_RUN_NAME = 64;

/** A run id from the config's name and the local time: `name-YYYYMMDD-HHMMSS`, the name made safe and cut to MAX_RUN_NAME. */
export function makeRunId(name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stampStr = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const safe =
    name
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, MAX_RUN_NAME)
      .replace(/-+$/, '') || 'run';
  return `${safe}-${stampStr}`;
}

/**
 * Makes a folder and its missing parents, one at a time (Node's recursive mkdir can loop forever
 * on a path it cannot create, such as one under /proc). Throws a FileSystemError that names the
 * folder and says why.
 */
export function makeFolders(dir: string, what = 'folder'): void {
  const target = path.resolve(dir);
  const missing: string[] = [];
  for (let d = target; ; d = path.dirname(d)) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(d);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw new FileSystemError(`cannot create the ${what} ${target}`, err);
    }
    if (stat) {
      if (!stat.isDirectory())
        throw new FileSystemError(`cannot create the ${what} ${target}`, undefined, `${d} is not a folder`);
      break;
    }
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if (errorCode(err) === 'EEXIST' && fs.statSync(d).isDirectory()) continue;
      // A parent that exists refused the folder without a reason of its own (procfs, sysfs say ENOENT).
      const why =
        errorCode(err) === 'ENOENT' ? `${path.dirname(d)} does not accept new folders (ENOENT)` : describeFsError(err);
      throw new FileSystemError(`cannot create the ${what} ${target}`, err, why);
    }
  }
}

/**
 * Makes a new, empty run folder under `runsDir` and copies the config into it. Never reuses a
 * folder that exists: a second run in the same second gets a suffix. Throws a FileSystemError
 * (one line: the folder and why) when it cannot.
 */
export function createRunDir(runsDir: string, name: string, configFile?: string): { runId: string; runDir: string } {
  makeFolders(runsDir, 'runs folder');
  const base = makeRunId(name);
  for (let i = 0; ; i++) {
    const runId = i === 0 ? base : `${base}-${i + 1}`;
    const runDir = path.join(runsDir, runId);
    try {
      fs.mkdirSync(runDir);
    } catch (err) {
      if (errorCode(err) === 'EEXIST') continue;
      throw new FileSystemError(`cannot create the run folder ${runDir}`, err);
    }
    if (configFile) {
      try {
        fs.copyFileSync(configFile, path.join(runDir, CONFIG_COPY));
      } catch (err) {
        throw new FileSystemError(`cannot copy the config into the run folder ${runDir}`, err);
      }
    }
    return { runId, runDir };
  }
}

/** Where a run got to, as its events said it: what a run_finished written for it is made of. */
export interface RunProgress {
  started?: RunStarted;
  lastRotation?: Pick<RotationEvent, 'step' | 'epoch' | 'distances'>;
  lastEpochEnd?: Pick<EpochEnd, 'loss' | 'accuracy'>;
  /** Seconds since the run started. */
  seconds: number;
}

/**
 * The run_finished of a run that could not say how it ended itself (its runner died, or was ended
 * by its watchdog after the parent went away): where it got to, and which layers lag by the verdict.
 */
export function endedEarly(status: RunStatus, reason: string, at: RunProgress): Omit<RunFinished, 'v' | 'time'> {
  const last = at.lastRotation ?? { step: 0, epoch: 0, distances: [] };
  const trainLoss = at.lastEpochEnd?.loss ?? null;
  const trainAccuracy = at.lastEpochEnd?.accuracy ?? null;
  const lagging = at.started
    ? laggingEntries(
        judgeEnd(at.started, { status, finalDistances: last.distances, testAccuracy: null, trainLoss, trainAccuracy }),
      )
    : [];
  return {
    type: 'run_finished',
    status,
    reason,
    step: last.step,
    epoch: last.epoch,
    finalDistances: last.distances,
    testLoss: null,
    testAccuracy: null,
    trainLoss,
    trainAccuracy,
    lagging,
    seconds: at.seconds,
  };
}

/** The run's summary; the run's verdict and which layers lag are the verdict's (src/runlog/verdict.ts) on run_started and run_finished. */
export function makeSummary(runId: string, started: RunStarted | undefined, finished: RunFinished): RunSummary {
  // Without run_started there are no layers to judge, nor a plan: judged as a run of no layers.
  const verdict = judgeEnd(
    started ?? {
      layers: [],
      target: DEFAULT_TARGET,
      lagMargin: DEFAULT_LAG_MARGIN,
      epochs: 1,
      totalSteps: 1,
      stepsPerEpoch: 1,
      dataset: { name: '', train: null, validation: null, test: null, inputShape: [], classes: null },
      fitAccuracy: DEFAULT_FIT_ACCURACY,
    },
    finished,
  );
  const layers = (started?.layers ?? []).map((l, i) => ({
    name: l.name,
    kind: l.kind,
    params: l.params,
    finalDistance: verdict.layers[i].distance,
    lagging: verdict.layers[i].lagging,
  }));
  return {
    runId,
    name: started?.name ?? runId,
    status: finished.status,
    reason: finished.reason,
    backend: started?.backend ?? null,
    configFile: started?.configFile ?? null,
    epoch: finished.epoch,
    step: finished.step,
    seconds: finished.seconds,
    testLoss: finished.testLoss,
    testAccuracy: finished.testAccuracy,
    target: started?.target ?? null,
    verdict: verdict.run,
    trainAccuracy: verdict.fit?.trainAccuracy ?? null,
    layers,
    lagging: layers.filter((l) => l.lagging).map((l) => l.name),
  };
}

/** Writes summary.json atomically (a temporary file renamed over it). */
export function writeSummary(runDir: string, summary: RunSummary): void {
  const file = path.join(runDir, SUMMARY_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(summary, null, 2)}\n`);
  fs.renameSync(tmp, file);
}
