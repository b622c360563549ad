// What the runs list says of a run, without the editor: when it started, with which engine,
// optimizer, learning rate and Layca, its test accuracy and its verdict (src/runlog/verdict.ts),
// as a short row (the most telling facts first: a narrow side bar cuts the end) and as every
// fact, one a line (the row's tooltip). Pure: src/vscode/views.ts shows them.
import type { RunFinished, RunStarted } from './events';
import { judgeLog, type LogLike, runStatus, runStatusShort } from './verdict';

export interface RunFacts {
  /** When the run started (run_started's time, ms), or null. */
  start: number | null;
  engine: string | null;
  backend: string | null;
  /** The optimizer's type ("sgd", "adam"; run_started.optimizer without its "-layca"). */
  optimizer: string | null;
  learningRate: number | null;
  /** Layca on or off; null when the log does not say. */
  layca: boolean | null;
  testAccuracy: number | null;
  /** The verdict as the CLI and the diagnostics say it (runStatus), and in a few words; null before run_started. */
  verdict: string | null;
  verdictShort: string | null;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** The facts of a run log (a log without run_started has few). */
export function runFacts(log: LogLike & { started?: RunStarted; finished?: RunFinished }): RunFacts {
  const s = log.started;
  const v = judgeLog(log);
  const named = s?.optimizer ?? null;
  const layca = typeof s?.schedule?.layca === 'boolean' ? s.schedule.layca : named ? /-layca$/i.test(named) : null;
  return {
    start: finite(s?.time) ? s.time : null,
    engine: s?.engine ?? null,
    backend: s?.backendDescription ?? s?.backend ?? null,
    optimizer: named ? named.replace(/-layca$/i, '') : null,
    learningRate: finite(s?.schedule?.learningRate) ? s.schedule.learningRate : null,
    layca,
    testAccuracy: finite(log.finished?.testAccuracy) ? log.finished.testAccuracy : null,
    verdict: v ? runStatus(v) : null,
    verdictShort: v ? runStatusShort(v) : null,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/** A start time in a few characters, local time: "May 3 14:05", with the year when it is not `now`'s ("May 3 2024 14:05"). */
export function shortTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const year = d.getFullYear() === new Date(now).getFullYear() ? '' : ` ${d.getFullYear()}`;
  return `${MONTHS[d.getMonth()]} ${d.getDate()}${year} ${p2(d.getHours())}:${p2(d.getMinutes())}`;
}

/** A start time in full, local time: "2025-05-03 14:05:12". */
export function longTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** A learning rate as written in a config: 0.2, 0.0001, 3e-5 (4 significant digits at most). */
export function rateText(rate: number): string {
  return String(Number(rate.toPrecision(4)));
}

/** A test accuracy in a row: "76.0%". */
export function accuracyText(acc: number): string {
  return `${(100 * acc).toFixed(1)}%`;
}

/** "lr 0.2 sgd+Layca", "lr 0.01 adam": the rate first (it tells runs of one config apart). */
export function optimizerWords(f: Pick<RunFacts, 'learningRate' | 'optimizer' | 'layca'>): string | undefined {
  const parts = [
    f.learningRate === null ? undefined : `lr ${rateText(f.learningRate)}`,
    f.optimizer === null ? (f.layca ? 'Layca' : undefined) : `${f.optimizer}${f.layca ? '+Layca' : ''}`,
  ].filter(Boolean);
  return parts.length ? parts.join(' ') : undefined;
}

/** Where the run is: its status (running, completed, stopped, failed, unfinished), and while it runs its epoch. */
export interface RunState {
  status: string;
  epoch?: number;
  epochs?: number | null;
}

/** "epoch 2/3" while it runs, "stopped", "failed"; nothing for a completed run (its icon says it). */
function stateWords(state: RunState): string | undefined {
  if (state.status === 'completed') return undefined;
  if (state.status === 'running' && state.epoch !== undefined) return `epoch ${state.epoch}/${state.epochs ?? '?'}`;
  return state.status;
}

/**
 * The row of a run, the most telling facts first: its state (unless completed), when it started,
 * its test accuracy and verdict in a few words, the rate and optimizer. E.g.
 * "May 3 14:05 · 76.0% · 3 lagging · lr 0.2 sgd", "epoch 2/3 · May 3 14:07 · lr 0.1 sgd+Layca".
 */
export function runRow(f: RunFacts, state: RunState, now = Date.now()): string {
  const running = state.status === 'running';
  return [
    stateWords(state),
    f.start === null ? undefined : shortTime(f.start, now),
    f.testAccuracy === null ? undefined : accuracyText(f.testAccuracy),
    // While it runs, its verdict is a projection: the tooltip says it.
    running ? undefined : (f.verdictShort ?? undefined),
    optimizerWords(f),
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Every fact, one line each ("Started: 2025-05-03 14:05:12"), for the row's tooltip. */
export function runFactLines(f: RunFacts): string[] {
  const lines = [
    `Started: ${f.start === null ? 'unknown' : longTime(f.start)}`,
    `Engine: ${f.engine ?? 'unknown'}${f.backend ? ` (backend ${f.backend})` : ''}`,
    `Optimizer: ${f.optimizer ?? 'unknown'}, learning rate ${f.learningRate === null ? 'unknown' : rateText(f.learningRate)}, Layca ${f.layca === null ? 'unknown' : f.layca ? 'on' : 'off'}`,
    `Test accuracy: ${f.testAccuracy === null ? 'none' : `${(100 * f.testAccuracy).toFixed(2)}%`}`,
    `Verdict: ${f.verdict ?? 'not judged (no run_started)'}`,
  ];
  return lines;
}
