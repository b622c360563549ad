// A run's folder: events.jsonl (the run log), a copy of the config, and summary.json at the end.
import { DEFAULT_FIT_ACCURACY, DEFAULT_LAG_MARGIN, DEFAULT_TARGET } from './defaults';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunFinished, RunStarted } from './events';
import { judgeEnd, type RunJudgement } from './verdict';

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

/** A run id from the config's name and the local time: `name-YYYYMMDD-HHMMSS`. */
export function makeRunId(name: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stampStr = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  return `${safe}-${stampStr}`;
}

/**
 * Makes a new, empty run folder under `runsDir` and copies the config into it. Never reuses a
 * folder that exists: a second run in the same second gets a suffix.
 */
export function createRunDir(runsDir: string, name: string, configFile?: string): { runId: string; runDir: string } {
  fs.mkdirSync(runsDir, { recursive: true });
  const base = makeRunId(name);
  for (let i = 0; ; i++) {
    const runId = i === 0 ? base : `${base}-${i + 1}`;
    const runDir = path.join(runsDir, runId);
    try {
      fs.mkdirSync(runDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    if (configFile) fs.copyFileSync(configFile, path.join(runDir, CONFIG_COPY));
    return { runId, runDir };
  }
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
