// What a set of runs says about the paper's rule (docs/layer-rotation.md): among configurations
// of one task trained until they fit, do the runs whose layers rotated further generalize better?
// A single run cannot say; its siblings in a sweep or a comparison can. Pure (no Node): the
// comparison model carries the result to the CLI and the editor tab alike.
//
// - Configurations: the rows grouped by the config values that differ between the runs, seeds
//   aside (a seed is a repetition, not a configuration).
// - The reading uses only configurations whose every run fit its training data (verdict judged):
//   the paper reads rotation at the end of such runs. Rotation of a configuration: the mean over
//   its runs of the least final distance over layers (the rule is about every layer). Test
//   accuracy: the mean over its runs, with the seeds' standard deviation.
// - Verdict of the reading: the sign of Spearman's rank correlation between rotation and test
//   accuracy over the configurations, and whether the most rotated configuration's accuracy
//   differs from the least rotated one's by more than twice the standard error of that difference
//   (the seeds' spread). Both must agree for "supports" or "contradicts"; with one seed per
//   configuration the spread is unknown and the reading says so.
// - Per run, relative to its siblings: a run whose layers lag, with a sibling configuration that
//   fit, rotated further and generalized better (beyond the spread), has more rotation backed by
//   measurement; with siblings that rotated further and none better, the lag is not backed; a run
//   whose test accuracy is far below the best configuration's (FAR_BELOW_ACCURACY) while its layers
//   reached the target did not learn what its siblings learned: its rate is too high for the budget.
import { axisLabels, type CompareRow } from './compareModel';

/** A run this far (in accuracy, absolute) below the best configuration's mean did not learn what its siblings did. */
export const FAR_BELOW_ACCURACY = 0.2;
/** |Spearman| at least this for a relation to count. */
export const MIN_RANK_CORRELATION = 0.5;

export interface ConfigurationStats {
  /** The differing config values (seeds aside), e.g. "optimizer.learningRate=0.003"; "" when the runs differ by seed only. */
  label: string;
  /** Indices of its rows in the comparison. */
  rows: number[];
  /** Runs that fit (verdict judged), runs not finished yet, and runs in all. */
  fit: number;
  unfinished: number;
  runs: number;
  /** Over its runs with a finite value; null when none. */
  testMean: number | null;
  /** Sample standard deviation over its runs (null with fewer than two). */
  testSd: number | null;
  testCount: number;
  /** Mean over its runs of the least final distance over layers. */
  minDistance: number | null;
  /** Runs with lagging layers. */
  lagging: number;
}

export type ReadingKind = 'supports' | 'contradicts' | 'no-relation' | 'spread-unknown' | 'insufficient';

export interface RuleReading {
  kind: ReadingKind;
  /** The configurations read (every run fit, a test accuracy), least rotated first. */
  read: ConfigurationStats[];
  /** Configurations left out, and why. */
  leftOut: { label: string; why: string }[];
  /** Spearman's rank correlation of rotation and test accuracy over `read` (null: fewer than 3, or no spread). */
  spearman: number | null;
  /** Most rotated minus least rotated test accuracy, and twice the standard error of that difference (null: unknown). */
  gap: number | null;
  noise: number | null;
  /** The reading in one or two sentences. */
  text: string;
}

export type RelativeKind = 'lag-backed' | 'lag-unbacked' | 'far-below';

export interface RelativeNote {
  kind: RelativeKind;
  text: string;
}

export interface Evidence {
  configurations: ConfigurationStats[];
  reading: RuleReading;
  /** Per row of the comparison (same order): how it stands among its siblings; null: nothing to say. */
  relative: (RelativeNote | null)[];
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const isSeed = (path: string) => path === 'seed' || path.endsWith('.seed');

/** The label of a row's configuration: the differing config values, seeds aside. */
export function configurationLabel(row: CompareRow, paths: readonly string[]): string {
  const kept = paths.filter((p) => !isSeed(p));
  const names = axisLabels(kept);
  return kept.map((p, i) => `${names[i]}=${p in row.config ? String(row.config[p]) : '(absent)'}`).join(', ');
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function sd(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs) as number;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Ranks from 1, ties sharing their mean rank. */
function ranks(xs: number[]): number[] {
  const order = xs.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
  const out = new Array<number>(xs.length);
  for (let k = 0; k < order.length; ) {
    let j = k;
    while (j + 1 < order.length && order[j + 1].x === order[k].x) j++;
    for (let t = k; t <= j; t++) out[order[t].i] = (k + j) / 2 + 1;
    k = j + 1;
  }
  return out;
}

/** Spearman's rank correlation (Pearson's on ranks); null with fewer than 3 pairs or no spread. */
export function spearman(xs: number[], ys: number[]): number | null {
  if (xs.length < 3 || xs.length !== ys.length) return null;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mx = mean(rx) as number;
  const my = mean(ry) as number;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** Twice the standard error of the difference of two configurations' mean accuracies; null when a spread is unknown. */
function noiseOf(a: ConfigurationStats, b: ConfigurationStats): number | null {
  if (a.testSd === null || b.testSd === null) return null;
  return 2 * Math.sqrt(a.testSd ** 2 / a.testCount + b.testSd ** 2 / b.testCount);
}

/** Whether `better` generalized better than `other` beyond the seeds' spread (unknown spread: by more than 1 point). */
function clearlyBetter(better: ConfigurationStats, other: ConfigurationStats): boolean {
  if (better.testMean === null || other.testMean === null) return false;
  const noise = noiseOf(better, other) ?? 0.01;
  return better.testMean - other.testMean > noise;
}

/** The configurations of a comparison's rows. */
export function configurations(rows: readonly CompareRow[], paths: readonly string[]): ConfigurationStats[] {
  const byLabel = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const label = configurationLabel(row, paths);
    const list = byLabel.get(label);
    if (list) list.push(i);
    else byLabel.set(label, [i]);
  });
  return [...byLabel].map(([label, idx]) => {
    const tests = idx.map((i) => rows[i].testAccuracy).filter(finite);
    const mins = idx.map((i) => rows[i].minDistance).filter(finite);
    return {
      label,
      rows: idx,
      fit: idx.filter((i) => rows[i].verdict === 'judged' && rows[i].status !== 'unfinished').length,
      unfinished: idx.filter((i) => rows[i].status === 'unfinished').length,
      runs: idx.length,
      testMean: mean(tests),
      testSd: sd(tests),
      testCount: tests.length,
      minDistance: mins.length === idx.length ? mean(mins) : null,
      lagging: idx.filter((i) => rows[i].lagging.length > 0).length,
    };
  });
}

/** A distance for people: two decimals, or two significant digits below 0.1 (0.0042, not 0.00). */
export const distanceText = (d: number) => (Math.abs(d) < 0.1 && d !== 0 ? d.toPrecision(2) : d.toFixed(2));

function describe(c: ConfigurationStats): string {
  const acc =
    c.testMean === null ? 'no test accuracy' : `${pct(c.testMean)}${c.testSd === null ? '' : ` ± ${pct(c.testSd)}`}`;
  return `${c.label || 'all runs'} (least layer distance ${c.minDistance === null ? 'n/a' : distanceText(c.minDistance)}, test ${acc})`;
}

/** The rule read over the configurations that fit. */
export function readRule(configs: readonly ConfigurationStats[]): RuleReading {
  const leftOut: RuleReading['leftOut'] = [];
  const read: ConfigurationStats[] = [];
  for (const c of configs) {
    if (c.unfinished > 0) leftOut.push({ label: c.label, why: `${c.unfinished} of ${c.runs} runs not finished` });
    else if (c.fit < c.runs)
      leftOut.push({ label: c.label, why: `${c.runs - c.fit} of ${c.runs} runs did not fit their training data` });
    else if (c.testMean === null || c.minDistance === null)
      leftOut.push({ label: c.label, why: c.testMean === null ? 'no test accuracy' : 'no final distances' });
    else read.push(c);
  }
  read.sort((a, b) => (a.minDistance as number) - (b.minDistance as number));
  const base = { read, leftOut, spearman: null, gap: null, noise: null };
  const outside = leftOut.length
    ? ` Left out: ${leftOut.map((l) => `${l.label || 'all runs'} (${l.why})`).join('; ')}.`
    : '';
  if (read.length < 2)
    return {
      ...base,
      kind: 'insufficient',
      text: `The paper's rule compares configurations that fit their training data; ${read.length === 0 ? 'none' : 'only one'} of these does, so the runs say nothing of it yet.${outside}`,
    };
  const rho = spearman(
    read.map((c) => c.minDistance as number),
    read.map((c) => c.testMean as number),
  );
  const least = read[0];
  const most = read[read.length - 1];
  const gap = (most.testMean as number) - (least.testMean as number);
  const noise = noiseOf(most, least);
  const sign = rho ?? Math.sign(gap);
  const ends = `most rotated: ${describe(most)}; least: ${describe(least)}`;
  const n = `${read.length} configurations that fit`;
  const result = { ...base, spearman: rho, gap, noise };
  if (noise === null)
    return {
      ...result,
      kind: 'spread-unknown',
      text: `Among the ${n}, more rotation went with ${gap >= 0 ? 'better' : 'worse'} test accuracy (${ends}), but with one run per configuration the seeds' spread is unknown: repeat with more seeds before reading the rule.${outside}`,
    };
  const clear = Math.abs(gap) > noise;
  if (clear && sign >= MIN_RANK_CORRELATION && gap > 0)
    return {
      ...result,
      kind: 'supports',
      text: `The paper's rule holds on these runs: among the ${n}, more rotation went with better test accuracy (${ends}; Spearman ${rho?.toFixed(2) ?? 'n/a'}).${outside}`,
    };
  if (clear && sign <= -MIN_RANK_CORRELATION && gap < 0)
    return {
      ...result,
      kind: 'contradicts',
      text: `The paper's rule does not hold on these runs: among the ${n}, more rotation went with worse test accuracy (${ends}; Spearman ${rho?.toFixed(2) ?? 'n/a'}).${outside}`,
    };
  const best = read.reduce((a, c) => ((c.testMean as number) > (a.testMean as number) ? c : a));
  const middle = best !== most && best !== least && clearlyBetter(best, most) && clearlyBetter(best, least);
  const how = clear
    ? `test accuracy did not rise steadily with rotation (${ends}; Spearman ${rho?.toFixed(2) ?? 'n/a'})`
    : `test accuracy did not follow rotation beyond the seeds' spread (${ends}; difference ${(100 * gap).toFixed(2)} points, noise ±${(100 * noise).toFixed(2)})`;
  return {
    ...result,
    kind: 'no-relation',
    text: `Among the ${n}, ${how}${middle ? `; the best, ${describe(best)}, lies between them` : ''}: the rule is not seen here.${outside}`,
  };
}

/** What these runs say: their configurations, the rule read over them, and each run relative to its siblings. */
export function evidenceOf(rows: readonly CompareRow[], paths: readonly string[]): Evidence {
  const configs = configurations(rows, paths);
  const reading = readRule(configs);
  const own = new Map<number, ConfigurationStats>();
  for (const c of configs) for (const i of c.rows) own.set(i, c);
  const best = configs
    .filter((c) => c.testMean !== null && c.fit > 0)
    .reduce<ConfigurationStats | null>((a, c) => (!a || (c.testMean as number) > (a.testMean as number) ? c : a), null);
  const relative = rows.map((row, i): RelativeNote | null => {
    const mine = own.get(i) as ConfigurationStats;
    if (configs.length < 2) return null;
    if (
      best &&
      best !== mine &&
      finite(row.testAccuracy) &&
      (best.testMean as number) - row.testAccuracy > FAR_BELOW_ACCURACY
    ) {
      const rotated = finite(row.minDistance) && finite(best.minDistance) && row.minDistance >= best.minDistance;
      return {
        kind: 'far-below',
        text: `Test accuracy ${pct(row.testAccuracy)}, far below ${describe(best)}: it did not learn what its siblings learned${rotated ? ' though its layers rotated further. The rate is too high for this budget: lower it or decay earlier.' : '.'}`,
      };
    }
    if (row.verdict !== 'judged' || row.lagging.length === 0 || mine.minDistance === null) return null;
    // Its siblings that fit and rotated further: did one of them generalize better?
    const further = configs.filter(
      (c) => c !== mine && c.fit === c.runs && c.minDistance !== null && c.minDistance > (mine.minDistance as number),
    );
    if (!further.length) return null;
    const better = further
      .filter((c) => clearlyBetter(c, mine))
      .sort((a, b) => (b.testMean as number) - (a.testMean as number));
    if (better.length)
      return {
        kind: 'lag-backed',
        text: `Its layers lag, and ${describe(better[0])}, which rotated further, generalized better: the comparison backs more rotation here.`,
      };
    return {
      kind: 'lag-unbacked',
      text: `Its layers lag, but no sibling that rotated further generalized better (${further.map(describe).join('; ')}): the comparison does not back the lag.`,
    };
  });
  return { configurations: configs, reading, relative };
}
