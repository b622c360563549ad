// Reading the folders to compare: a run folder (events.jsonl, maybe a config copy), a run log
// itself, or a sweep folder (sweep.json's points, or subfolders that are runs), expanded into its runs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type RunLog, readRunLog } from '../runlog/read';
import { CONFIG_COPY, EVENTS_FILE } from '../runlog/runfolder';
import type { RunInput } from './compare';
import { readSweep, SWEEP_FILE } from './sweepRun';

export { SWEEP_FILE };

/** A path given that is not a run, a run log or a sweep (the message names it). */
export class NotARunError extends Error {}

export interface FolderRead {
  runs: RunInput[];
  /** Runs left out, each with why (a log without run_started). */
  leftOut: string[];
}

const isDir = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
const isFile = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isFile() === true;

/** The run folders a path stands for: itself, its log's folder, or a sweep's runs (in natural order of their names). */
export function expandRunFolders(given: string): string[] {
  const p = path.resolve(given);
  if (isFile(p)) {
    if (path.basename(p) === EVENTS_FILE) return [path.dirname(p)];
    throw new NotARunError(`${given}: not a run: a run is a folder holding ${EVENTS_FILE}, or that file`);
  }
  if (!isDir(p)) throw new NotARunError(`${given}: no such file or folder`);
  if (isFile(path.join(p, EVENTS_FILE))) return [p];
  // A sweep: each point's current run, in the grid's order.
  const sweep = isFile(path.join(p, SWEEP_FILE)) ? readSweep(p) : undefined;
  const points = (sweep?.points ?? [])
    .filter((pt) => pt.runDir !== null)
    .sort((a, b) => a.index - b.index)
    .map((pt) => path.resolve(p, pt.runDir as string))
    .filter((dir) => isFile(path.join(dir, EVENTS_FILE)));
  if (points.length) return points;
  const runs = fs
    .readdirSync(p, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isFile(path.join(p, e.name, EVENTS_FILE)))
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => path.join(p, n));
  if (runs.length) return runs;
  if (isFile(path.join(p, SWEEP_FILE))) throw new NotARunError(`${given}: a sweep with no runs yet`);
  throw new NotARunError(
    `${given}: not a run: no ${EVENTS_FILE} in it, and no subfolder with one (a sweep's runs); a run folder holds ${EVENTS_FILE}`,
  );
}

/** One run folder: its log (corrupt lines skipped and listed in it) and its config copy, if any. */
export function readRunFolder(folder: string): RunInput {
  return runInput(folder, readRunLog(path.join(folder, EVENTS_FILE)));
}

/** A run already read (the editor's run manager holds its log): the log and the folder's config copy, if any. */
export function runInput(folder: string, log: RunLog): RunInput {
  const copy = path.join(folder, CONFIG_COPY);
  return { folder, log, configText: isFile(copy) ? fs.readFileSync(copy, 'utf8') : undefined };
}

/** The runs of the given paths, each folder once, in the order given; throws NotARunError for a path that is no run. */
export function readRunFolders(paths: string[]): FolderRead {
  const folders = [...new Set(paths.flatMap(expandRunFolders))];
  const runs: RunInput[] = [];
  const leftOut: string[] = [];
  for (const folder of folders) {
    const run = readRunFolder(folder);
    if (run.log.started) runs.push(run);
    else leftOut.push(`${folder}: left out: its log has no run_started event, so its layers are unknown`);
  }
  return { runs, leftOut };
}
