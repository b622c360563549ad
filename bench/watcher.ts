// Benchmark of the run-log watcher (src/runlog/watch.ts + tail.ts). Prints figures, asserts nothing:
//   1. pickup latency: 200 run logs in a temporary folder; after ready(), 50 times one rotation line
//      is appended to a random log (through a file descriptor kept open, as a Python writer does) at
//      random intervals of 50-150 ms; time from the write to the onUpdate callback that carries it.
//      Then, end to end with drawing: the monitor webview (webview/, in headless Chromium) shows one
//      of the runs; 30 lines appended to it go write -> onUpdate -> 'append' message -> the page
//      acknowledges at the first animation frame after the chart redrew.
//   2. CPU use of this process with the 200 logs idle, over 10 s (process.cpuUsage), with file-system
//      events (the default) and with polling (usePolling, 1000 ms and 100 ms).
//   3. time, peak RSS and worst event-loop stall to deliver the existing content of one 200 MB log
//      (in a child process, so that the peak RSS is its own; the consumer counts events).
// Run: npx tsc -p . && node out/bench/watcher.js   (results also in bench-results/watcher.json)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RunLogWatcher } from '../src/runlog/watch';

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench-results', 'watcher.json');
const LOGS = 200;
const LAYERS = 20;
const RECORDS = 400; // per log at the start: ~170 KB each
const APPENDS = 50;
const DRAW_APPENDS = 30;
const TARGET_MS = 200;

/** Deterministic random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(42);

const startedLine = (runId: string, layers = LAYERS) =>
  `${JSON.stringify({
    v: 1,
    time: Date.now(),
    type: 'run_started',
    runId,
    name: runId,
    engine: 'pytorch',
    backend: 'cuda',
    dataset: { name: 'cifar10', train: 45000, validation: 5000, test: 10000, inputShape: [32, 32, 3], classes: 10 },
    layers: Array.from({ length: layers }, (_, i) => ({
      name: `conv${i + 1}`,
      kind: 'conv2d',
      shape: [3, 3, 64, 64],
      params: 36928,
    })),
    epochs: 100,
    stepsPerEpoch: 352,
    batchSize: 128,
    totalSteps: 35200,
    target: 1,
    lagMargin: 0.2,
  })}\n`;
const rotLine = (step: number, layers = LAYERS) =>
  `${JSON.stringify({
    v: 1,
    time: Date.now(),
    type: 'rotation',
    step,
    epoch: step / 352,
    distances: Array.from(
      { length: layers },
      (_, i) => +(Math.min(1.1, (step / 20000) * (0.8 + i / layers)) + 0.001 * Math.sin(step + i)).toFixed(6),
    ),
    rotation: Array.from({ length: layers }, () => +(0.01 * random()).toFixed(6)),
    steps: 10,
  })}\n`;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => sorted(xs)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const r1 = (x: number) => Math.round(x * 10) / 10;
const stats = (xs: number[]) => ({
  median: r1(pct(xs, 50)),
  p90: r1(pct(xs, 90)),
  worst: r1(Math.max(...xs)),
  n: xs.length,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Log {
  file: string;
  runId: string;
  fd: number;
  step: number;
}

function makeLogs(dir: string): Log[] {
  const logs: Log[] = [];
  for (let i = 0; i < LOGS; i++) {
    const runId = `run-${String(i).padStart(3, '0')}`;
    const file = path.join(dir, `project-${i % 10}`, 'runs', runId, 'events.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let text = startedLine(runId);
    for (let r = 0; r < RECORDS; r++) text += rotLine(r * 10);
    fs.writeFileSync(file, text);
    logs.push({ file, runId, fd: fs.openSync(file, 'a'), step: RECORDS * 10 });
  }
  return logs;
}

/** 1. write -> onUpdate, and write -> drawn in the monitor webview. */
async function latency(dir: string, logs: Log[]) {
  const w = new RunLogWatcher({ roots: [dir] });
  const waiting = new Map<string, { step: number; t0: number; resolve: (ms: number) => void }>();
  const shown: { file?: string; events: unknown[] } = { events: [] };
  let onShown: ((events: unknown[]) => void) | undefined;
  w.onUpdate((u) => {
    const now = performance.now();
    if (u.file === shown.file && !onShown) shown.events.push(...u.chunk.events);
    if (u.file === shown.file && onShown) onShown(u.chunk.events);
    const wt = waiting.get(u.file);
    if (wt && u.chunk.events.some((e) => e.type === 'rotation' && e.step === wt.step)) {
      waiting.delete(u.file);
      wt.resolve(now - wt.t0);
    }
  });
  const t0 = performance.now();
  shown.file = logs[0].file;
  await w.ready();
  const readyMs = performance.now() - t0;
  const append = (log: Log) => {
    log.step += 10;
    const step = log.step;
    const line = rotLine(step);
    return new Promise<number>((resolve) => {
      waiting.set(log.file, { step, t0: performance.now(), resolve });
      fs.writeSync(log.fd, line);
    });
  };
  const pickup: number[] = [];
  for (let i = 0; i < APPENDS; i++) {
    await sleep(50 + 100 * random());
    const log = logs[Math.floor(random() * logs.length)];
    pickup.push(await Promise.race([append(log), sleep(5000).then(() => Infinity)]));
  }

  // End to end with the webview, when Chromium is there.
  let draw: Record<string, unknown> = { skipped: 'no Chromium' };
  try {
    const { startHarness, CHROMIUM } = await import('../test/webview/harness');
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}`);
    const h = await startHarness({ width: 1000, height: 900 });
    try {
      const log = logs[0];
      await h.post({
        type: 'runs',
        runs: logs.map((l) => ({ runId: l.runId, name: l.runId, status: 'running', live: false })),
        selected: log.runId,
      });
      await h.post({ type: 'load', runId: log.runId, events: shown.events });
      await h.page.waitForFunction(`window.__layerRotationMonitor.points === ${shown.events.length - 1}`, undefined, {
        timeout: 20_000,
      });
      // In the page: post a message, resolve at the first animation frame after the monitor redrew.
      await h.page.evaluate(`window.__benchPost = (json) => {
        const s = window.__layerRotationMonitor, before = s.draws;
        window.__layerRotationMonitorPost(JSON.parse(json));
        return new Promise((resolve) => {
          const check = () => (s.draws !== before ? requestAnimationFrame(() => resolve(s.lastFrameMs)) : requestAnimationFrame(check));
          requestAnimationFrame(check);
        });
      }`);
      const e2e: number[] = [];
      const host: number[] = [];
      const frame: number[] = [];
      for (let i = 0; i < DRAW_APPENDS; i++) {
        await sleep(50 + 100 * random());
        log.step += 10;
        const line = rotLine(log.step);
        const done = new Promise<void>((resolve) => {
          onShown = (events) => {
            const got = performance.now();
            host.push(got - t);
            void (
              h.page.evaluate(
                `window.__benchPost(${JSON.stringify(JSON.stringify({ type: 'append', runId: log.runId, events }))})`,
              ) as Promise<number>
            ).then((f) => {
              e2e.push(performance.now() - t);
              frame.push(f);
              resolve();
            });
          };
        });
        const t = performance.now();
        fs.writeSync(log.fd, line);
        await Promise.race([done, sleep(5000).then(() => e2e.push(Infinity))]);
        onShown = undefined;
      }
      draw = { pickup: stats(host), drawn: stats(e2e), frameMs: stats(frame), points: (await h.state()).points };
      const problems = h.problems.length ? h.problems : undefined;
      if (problems) draw.problems = problems;
    } finally {
      await h.close();
    }
  } catch (err) {
    draw = { skipped: String((err as Error).message ?? err).split('\n')[0] };
  }
  await w.close();
  return {
    logs: LOGS,
    layers: LAYERS,
    recordsPerLog: RECORDS,
    bytesPerLog: fs.statSync(logs[1].file).size,
    readyMs: r1(readyMs),
    pickup: stats(pickup),
    draw,
  };
}

/** 2. CPU use with the logs idle. */
async function idleCpu(dir: string, opts: { usePolling?: boolean; pollIntervalMs?: number }, seconds = 10) {
  const w = new RunLogWatcher({ roots: [dir], ...opts });
  await w.ready();
  await sleep(1000);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  const files = w.files().length;
  await w.close();
  return { files, seconds, cpuPercentOfOneCore: Math.round(((c.user + c.system) / 1000 / ms) * 10000) / 100 };
}

/** 3. In a child process: deliver the content of one big log. */
async function bigChild(dir: string) {
  const rss0 = process.memoryUsage().rss;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const t0 = performance.now();
  const w = new RunLogWatcher({ roots: [dir] });
  let events = 0;
  let updates = 0;
  let skipped = 0;
  w.onUpdate((u) => {
    updates++;
    events += u.chunk.events.length;
    skipped += u.chunk.skipped.length;
  });
  await w.ready();
  const seconds = (performance.now() - t0) / 1000;
  loop.disable();
  await w.close();
  const out = {
    seconds: Math.round(seconds * 100) / 100,
    events,
    skipped,
    updates,
    rssBeforeMB: Math.round(rss0 / 2 ** 20),
    peakRssMB: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
    worstEventLoopStallMs: r1(loop.max / 1e6),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function big() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-big-'));
  try {
    const file = path.join(dir, 'huge-run', 'events.jsonl');
    fs.mkdirSync(path.dirname(file));
    const fd = fs.openSync(file, 'w');
    const layers = 50;
    fs.writeSync(fd, startedLine('huge-run', layers));
    let step = 0;
    let size = 0;
    while (size < 200 * 2 ** 20) {
      let block = '';
      for (let i = 0; i < 1000; i++) block += rotLine((step += 10), layers);
      size += fs.writeSync(fd, block);
    }
    fs.closeSync(fd);
    const child = spawnSync(process.execPath, [__filename, '--big-child', dir], { encoding: 'utf8', timeout: 300_000 });
    const last = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !last.startsWith('{'))
      return { failed: (child.stderr || child.stdout || `exit ${child.status}`).slice(0, 500) };
    return { fileMB: Math.round(fs.statSync(file).size / 2 ** 20), layers, lines: step / 10 + 1, ...JSON.parse(last) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (process.argv[2] === '--big-child') return bigChild(process.argv[3]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-bench-watch-'));
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      cores: os.cpus().length,
      cpu: os.cpus()[0]?.model,
      loadAverageStart: r1(os.loadavg()[0]),
    },
  };
  try {
    const logs = makeLogs(dir);
    try {
      console.log(`### Run-log watcher: ${LOGS} logs of ${RECORDS} rotation records x ${LAYERS} layers\n`);
      const lat = await latency(dir, logs);
      results.latency = lat;
      const met = lat.pickup.worst < TARGET_MS;
      console.log(
        `initial scan + delivery of ${LOGS} logs (${Math.round(lat.bytesPerLog / 1024)} KB each): ${lat.readyMs} ms`,
      );
      console.log(
        `pickup, write -> onUpdate (${lat.pickup.n} appends): median ${lat.pickup.median} ms, p90 ${lat.pickup.p90} ms, worst ${lat.pickup.worst} ms`,
      );
      const d = lat.draw as {
        skipped?: string;
        pickup?: ReturnType<typeof stats>;
        drawn?: ReturnType<typeof stats>;
        frameMs?: ReturnType<typeof stats>;
      };
      if (d.skipped) console.log(`end to end with drawing: skipped (${d.skipped})`);
      else {
        console.log(
          `end to end, write -> drawn in the monitor webview (headless Chromium, ${d.drawn!.n} appends to the run shown):`,
        );
        console.log(
          `  write -> onUpdate: median ${d.pickup!.median} ms, p90 ${d.pickup!.p90} ms, worst ${d.pickup!.worst} ms`,
        );
        console.log(
          `  write -> frame drawn: median ${d.drawn!.median} ms, p90 ${d.drawn!.p90} ms, worst ${d.drawn!.worst} ms (frame work median ${d.frameMs!.median} ms)`,
        );
      }
      const drawnMet = !d.drawn || d.drawn.worst < TARGET_MS;
      console.log(
        `target: pickup under ${TARGET_MS} ms: ${met ? 'MET' : 'NOT MET'} (worst ${lat.pickup.worst} ms)${d.drawn ? `; drawn under ${TARGET_MS} ms: ${drawnMet ? 'MET' : 'NOT MET'} (worst ${d.drawn.worst} ms)` : ''}`,
      );
      results.targetMs = TARGET_MS;
      results.pickupTargetMet = met;
      results.drawnTargetMet = d.drawn ? drawnMet : null;

      console.log(`\nidle CPU with ${LOGS} logs (10 s each):`);
      const idle: Record<string, unknown> = {};
      for (const [name, opts] of [
        ['events', {}],
        ['polling1000ms', { usePolling: true, pollIntervalMs: 1000 }],
        ['polling100ms', { usePolling: true, pollIntervalMs: 100 }],
      ] as const) {
        const r = await idleCpu(dir, opts);
        idle[name] = r;
        console.log(
          `  ${name === 'events' ? 'file-system events (default)' : `usePolling, every ${opts.pollIntervalMs} ms`}: ${r.cpuPercentOfOneCore}% of one core (${r.files} logs)`,
        );
      }
      results.idleCpu = idle;
    } finally {
      for (const l of logs) fs.closeSync(l.fd);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  console.log('\ninitial content of one 200 MB log (child process, consumer counts events):');
  const b = await big();
  results.bigLog = b;
  if ('failed' in b) console.log(`  failed: ${b.failed}`);
  else
    console.log(
      `  ${b.fileMB} MB, ${b.lines.toLocaleString('en-US')} lines x ${b.layers} layers: ${b.seconds} s (${Math.round(b.fileMB / b.seconds)} MB/s), ${b.updates} updates; peak RSS ${b.peakRssMB} MB (${b.rssBeforeMB} MB before); worst event-loop stall ${b.worstEventLoopStallMs} ms`,
    );
  (results.machine as Record<string, unknown>).loadAverageEnd = r1(os.loadavg()[0]);
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(ROOT, RESULTS)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
