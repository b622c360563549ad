// Rendering benchmark of the monitor webview in headless Chromium (software canvas: --disable-gpu):
// 200 layers x 20,000 rotation records.
//   - first draw: the drawing time of the frame that drew the 20,000 records after a 'load' (its
//     work, measured inside the page from the start of the frame to the next animation frame
//     callback, so with the microtasks it queued, plus the canvas's pending drawing: a pixel read
//     back at once); a big run's first frame draws its curves alone, the other panels (loss,
//     accuracy, legend, table) follow in the next frame, measured the same way, and end to end
//     until then; also the load message's handling, and end to end from posting the load; and,
//     from a Chromium trace of it, the frame in wall time and in the main thread's CPU time (less
//     affected by the machine's load) and the rendering after it (style, layout, paint);
//   - appends: 100 'append' messages of 10 rotation records (and 10 batch events) each, one at a
//     time: time of the frame's work measured inside the page with performance.now() (whole
//     redraw, and the rotation chart's setData + draw alone), and end to end, from the post to
//     the next requestAnimationFrame after the redraw.
// The chart settings can be set first (as the workspace's would be): smoothing, the stepwise rate
// chart under the distance's, a log axis. Each repetition is a fresh browser; the figures are
// medians with their ranges over the repetitions (the appends' over all of them), against the
// goals of issue 12: the first draw's frame within 100 ms, an append's under 4 ms.
// Run: node bench/webview-render.mjs [--reps 3] [--smoothing 0.6] [--quantity distance|rate|both] [--log]
//        [--dist DIR ...] [--appends N] [--noise A] [--profile DIR]
//      prints the figures on stderr and one JSON line on stdout (benchWebviewRender() returns it);
//      --dist: draw with webview bundles built already (scripts/build-webview.mjs DIR), several
//      interleaved repetition by repetition (to compare two builds on a loaded machine), one
//      JSON line each; --profile DIR: a trace and a CPU profile of each first draw written to DIR,
//      and what they show printed (startTrace below). BENCH_JS_FLAGS="--trace-opt --trace-deopt"
//      (V8's flags for the page) with DEBUG=pw:browser: what V8 compiled, and threw away, when.
import * as esbuild from 'esbuild';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildWebview } from '../scripts/build-webview.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

// The dark theme variables the charts read (a subset of VS Code's Dark Modern).
const THEME = `body { --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1f1f1f;
  --vscode-charts-lines: rgba(204, 204, 204, 0.5); --vscode-charts-blue: #3794ff; --vscode-charts-orange: #d18616;
  --vscode-font-family: sans-serif; --vscode-font-size: 13px; background: var(--vscode-editor-background); }`;

/** webview/html.ts, compiled on the fly (this script runs without `npm run compile`). */
async function loadMonitorHtml(dir) {
  const file = join(dir, 'html.mjs');
  await esbuild.build({
    entryPoints: [join(root, 'webview/html.ts')],
    outfile: file,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'warning',
  });
  return (await import(pathToFileURL(file).href)).monitorHtml;
}

async function serve(dir, monitorHtml) {
  const nonce = randomBytes(16).toString('base64url');
  let origin = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/') {
      const html = monitorHtml({
        scriptUri: `${origin}/webview.js`,
        styleUri: `${origin}/webview.css`,
        cspSource: origin,
        nonce,
        title: 'bench',
      })
        .replace('</head>', `<style nonce="${nonce}">${THEME}</style></head>`)
        .replace('<body>', '<body class="vscode-dark">');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (path === '/webview.js' || path === '/webview.css') {
      res
        .writeHead(200, { 'content-type': path.endsWith('.js') ? 'text/javascript' : 'text/css' })
        .end(readFileSync(join(dir, path.slice(1))));
    } else res.writeHead(path === '/favicon.ico' ? 204 : 404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${server.address().port}`;
  return { server, url: `${origin}/` };
}

/**
 * In the page: a run log of `layers` x `records` rotation records, the same number of batch events.
 * Each layer's distance rises smoothly, with a fast ripple of `noise` (0.002 by default: over the
 * y axis's 1.3 and about 400 pixels, a ripple of about 1.2 px within each pixel column, which keeps
 * both its least and greatest value; 0: a smooth curve, as a cosine distance mostly is).
 */
function makeRun({ layers, records, perEpoch, noise }) {
  const d = (i, r) => {
    const x = r / records;
    const f = i % 17 === 0 ? 0.5 : 0.95 + 0.2 * (i / layers);
    return (f * (1 - Math.exp(-2 * x))) / (1 - Math.exp(-2)) + noise * Math.sin(r * 0.7 + i);
  };
  const started = {
    v: 1,
    time: 0,
    type: 'run_started',
    runId: 'bench-run',
    name: 'bench',
    engine: 'tfjs',
    backend: 'wasm',
    dataset: { name: 'synthetic', train: 1, validation: 1, test: 1, inputShape: [1], classes: 2 },
    layers: Array.from({ length: layers }, (_, i) => ({
      name: `conv${i + 1}`,
      kind: 'conv2d',
      shape: [3, 3, 64, 64],
      params: 36928,
    })),
    epochs: Math.ceil((records * 2) / perEpoch),
    stepsPerEpoch: perEpoch,
    batchSize: 128,
    totalSteps: Math.ceil((records * 2) / perEpoch) * perEpoch,
    target: 1,
    lagMargin: 0.2,
    fitAccuracy: 0.99,
    schedule: {
      learningRate: 0.1,
      decay: { factor: 0.2, epochs: [Math.ceil(records / perEpoch)] },
      warmupEpochs: 0,
      layca: true,
      multipliers: [],
    },
  };
  const event = (r) => [
    {
      v: 1,
      time: r * 20,
      type: 'batch',
      step: r,
      epoch: r / perEpoch,
      loss: 2 * Math.exp(-r / 3000) + 0.05,
      accuracy: 1 - 0.9 * Math.exp(-r / 2000),
      learningRate: 0.1,
    },
    {
      v: 1,
      time: r * 20,
      type: 'rotation',
      step: r,
      epoch: r / perEpoch,
      distances: Array.from({ length: layers }, (_, i) => d(i, r)),
      rotation: Array.from({ length: layers }, (_, i) => (r ? 0.001 * (1 + i / layers) : 0)),
      steps: r ? 1 : 0,
    },
  ];
  window.__benchEvent = event;
  const events = [started];
  for (let r = 0; r < records; r++) events.push(...event(r));
  return events;
}

/** In the page: post a message, resolve at the first animation frame after the monitor redrew. */
function postAndWait(msg) {
  const s = window.__layerRotationMonitor;
  const before = s.draws;
  const t0 = performance.now();
  window.__layerRotationMonitorPost(msg);
  const handled = performance.now() - t0;
  return new Promise((resolve) => {
    const check = () => {
      if (s.draws !== before) {
        // In the frame that drew: reading a pixel back waits for the canvas's pending drawing.
        // (From the start of the monitor's frame: its work and the microtasks it queued, which ran before this callback.)
        const t1 = performance.now();
        // (A bundle older than lastFrameStart: the work of its frame's own callback only.)
        const frame = s.lastFrameStart === undefined ? s.lastFrameMs : t1 - s.lastFrameStart;
        document.querySelector('.u-wrap canvas')?.getContext('2d')?.getImageData(0, 0, 1, 1);
        const flush = performance.now() - t1;
        const result = {
          handled,
          frame,
          flush,
          drawing: frame + flush,
          chart: s.lastDrawMs,
          points: s.points,
          drawn: s.drawnPoints,
          fullDraws: s.fullDraws,
          // A big run's first frame draws its curves alone: the other panels' frame, next.
          rest: 0,
          settledEndToEnd: 0,
        };
        const drewAt = s.lastFrameStart;
        // (A bundle older than `settled` draws every panel in one frame.)
        const settled = () => s.settled ?? true;
        const settle = () => {
          if (settled() && s.lastFrameStart !== drewAt) {
            const t2 = performance.now();
            const restFrame = t2 - s.lastFrameStart;
            document.querySelector('.u-wrap canvas')?.getContext('2d')?.getImageData(0, 0, 1, 1);
            result.rest = restFrame + (performance.now() - t2);
            result.settledEndToEnd = performance.now() - t0;
          }
          if (settled()) requestAnimationFrame(() => resolve({ ...result, endToEnd: performance.now() - t0 }));
          else requestAnimationFrame(settle);
        };
        if (settled()) settle();
        else requestAnimationFrame(settle);
      } else requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (v) => Math.round(v * 10) / 10;
/** Median and range (ms, to 0.1). */
const stat = (xs) => ({ median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });

/** The goals of issue 12 (ms): the first draw's frame, an append's frame (median). */
export const GOALS = { firstDrawMs: 100, appendMs: 4 };

/**
 * Runs the benchmark: `reps` fresh browsers for each bundle (interleaved); returns the figures
 * (milliseconds) of each, in the order of `dists` (default: one bundle built now from webview/).
 * @param {{ layers?: number, records?: number, appends?: number, perAppend?: number, width?: number, settings?: object, reps?: number, dists?: string[] }} [opts]
 */
export async function benchWebviewRender(opts = {}) {
  const { reps = 3, dists: given, ...rest } = opts;
  const tmp = mkdtempSync(join(tmpdir(), 'lrm-bench-webview-'));
  try {
    let dists = given;
    if (!dists?.length) {
      dists = [join(tmp, 'dist')];
      await buildWebview(dists[0], { production: true });
    }
    const monitorHtml = await loadMonitorHtml(tmp);
    const runs = dists.map(() => []);
    for (let r = 0; r < reps; r++)
      for (const [k, dist] of dists.entries())
        runs[k].push(await benchOnce(dist, monitorHtml, join(tmp, `rep${r}-${k}`), rest));
    return runs.map((samples, k) =>
      summarize(samples, given?.length ? dists[k] : 'webview/', rest.settings, rest.noise ?? 0.002),
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function summarize(runs, bundle, settings, noise) {
  const first = (key) => stat(runs.map((r) => r.first[key]));
  const appends = runs.flatMap((r) => r.appends);
  const append = (key) => stat(appends.map((s) => s[key]));
  const out = {
    bench: 'webview-render',
    bundle,
    settings: settings ?? 'default',
    noise,
    reps: runs.length,
    layers: runs[0].layers,
    records: runs[0].records,
    pointsAfter: runs[0].pointsAfter,
    drawnPointsPerLayer: runs[0].drawnFirst,
    firstDraw: {
      drawing: first('drawing'),
      frame: first('frame'),
      flush: first('flush'),
      chart: first('chart'),
      // Drawn on their own: the frame after, that draws the other panels (loss, accuracy, legend, table).
      rest: first('rest'),
      settledEndToEnd: first('settledEndToEnd'),
      // From the trace: the frame in wall and CPU time, and the rendering after it (style, layout, paint).
      traceFrame: first('traceWall'),
      traceFrameCpu: first('traceCpu'),
      rendering: first('renderWall'),
      renderingCpu: first('renderCpu'),
      load: first('handled'),
      endToEnd: first('endToEnd'),
      // The page's warm-up before the load (ms), over the repetitions in which it ran.
      warmUp: stat(runs.map((r) => r.first.warmUpMs).filter((ms) => typeof ms === 'number')),
      warmedUp: runs.filter((r) => typeof r.first.warmUpMs === 'number').length,
    },
    append: {
      batches: runs[0].appends.length,
      recordsPerBatch: runs[0].perAppend,
      drawing: append('drawing'),
      frame: append('frame'),
      chart: append('chart'),
      endToEnd: append('endToEnd'),
      fullDraws: stat(runs.map((r) => r.fullDraws)),
    },
  };
  out.goals = {
    firstDrawMs: {
      goal: GOALS.firstDrawMs,
      median: out.firstDraw.drawing.median,
      met: out.firstDraw.drawing.median <= GOALS.firstDrawMs,
    },
    appendMs: {
      goal: GOALS.appendMs,
      median: out.append.drawing.median,
      met: out.append.drawing.median < GOALS.appendMs,
    },
  };
  return out;
}

/** One fresh browser: the first draw, then the appends. */
async function benchOnce(dist, monitorHtml, tmp, opts) {
  const {
    layers = 200,
    records = 20_000,
    appends = 100,
    perAppend = 10,
    width = 1000,
    noise = 0.002,
    settings,
    profile,
  } = opts;
  const { chromium } = await import('playwright-core');
  const home = join(tmp, 'home');
  for (const d of ['.config', '.cache', '.local/share']) mkdirSync(join(home, d), { recursive: true });
  const { server, url } = await serve(dist, monitorHtml);
  const context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...(process.env.BENCH_JS_FLAGS ? [`--js-flags=${process.env.BENCH_JS_FLAGS}`] : [])],
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_DATA_HOME: join(home, '.local/share'),
    },
    viewport: { width, height: 1000 },
    deviceScaleFactor: 1,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // The page's warnings and errors (a draw that failed) on stderr.
    page.on('console', (m) => ['warning', 'error'].includes(m.type()) && console.error(`page: ${m.text()}`));
    page.on('pageerror', (err) => console.error(`page: ${err.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.__layerRotationMonitor !== undefined);
    const perEpoch = 1000;
    // Functions go in as source text: the page's CSP forbids eval, not the debugger's own evaluation.
    await page.evaluate(`window.__benchMakeRun = ${makeRun}; window.__benchPostAndWait = ${postAndWait};`);
    if (settings)
      await page.evaluate(`window.__layerRotationMonitorPost(${JSON.stringify({ type: 'settings', settings })})`);
    await page.evaluate(`(() => {
      window.__benchLoad = window.__benchMakeRun(${JSON.stringify({ layers, records, perEpoch, noise })});
      window.__layerRotationMonitorPost({ type: 'runs', runs: [{ runId: 'bench-run', name: 'bench', status: 'running', live: true }], selected: 'bench-run' });
    })()`);
    // As in VS Code, where the host reads a big run's log (seconds for this one) while the page,
    // idle, warms its drawing up (src/runlog/warmup.ts): the load comes after the warm-up, which
    // the figures say (or that it did not run within 5 s).
    const warmUpMs = await page
      .waitForFunction(
        () => {
          const ms = window.__layerRotationMonitor?.warmUpMs;
          return typeof ms === 'number' ? { ms } : false;
        },
        undefined,
        { timeout: 5000 },
      )
      .then(async (h) => (await h.jsonValue()).ms)
      .catch(() => null);
    const trace = await startTrace(context, page, profile);
    const first = await page.evaluate(
      `window.__benchPostAndWait({ type: 'load', runId: 'bench-run', events: window.__benchLoad })`,
    );
    first.warmUpMs = warmUpMs;
    const traced = await trace.stop(`first-draw-${basename(dist)}-${Date.now()}`);
    if (traced) {
      first.traceWall = traced.wall;
      first.traceCpu = traced.cpu;
      first.renderWall = traced.renderWall;
      first.renderCpu = traced.renderCpu;
    }
    const samples = await page.evaluate(
      async ([appends, perAppend, records]) => {
        const out = [];
        let r = records;
        for (let a = 0; a < appends; a++) {
          const events = [];
          for (let k = 0; k < perAppend; k++) events.push(...window.__benchEvent(r++));
          // Idle between appends, as when a run sends records every so often.
          await new Promise((res) => setTimeout(res, 40));
          out.push(await window.__benchPostAndWait({ type: 'append', runId: 'bench-run', events }));
        }
        return out;
      },
      [appends, perAppend, records],
    );
    const last = samples[samples.length - 1];
    return {
      layers,
      records,
      perAppend,
      pointsAfter: last.points,
      drawnFirst: first.drawn,
      first,
      appends: samples,
      fullDraws: last.fullDraws - first.fullDraws,
    };
  } finally {
    await context.close();
    server.close();
  }
}

/**
 * A Chromium trace of the first draw (CDP): the frame that drew, in wall time and in the page's
 * main thread's CPU time (less affected by the machine's load than wall time), and the rendering
 * after it (style, layout, paint up to the next frame) in both. With `dir` (--profile DIR) also
 * a CPU profile, both written to DIR (the trace opens in Chrome's Performance panel, the
 * .cpuprofile in its JavaScript profiler), and printed: the layouts and style recalculations in
 * the frame by the function that forced them, the functions of most self and total time. (Build
 * the bundle without --production for readable names.)
 */
async function startTrace(context, page, dir) {
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const done = new Promise((res) => cdp.once('Tracing.tracingComplete', res));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: {
      includedCategories: dir
        ? ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'disabled-by-default-devtools.timeline.stack']
        : ['devtools.timeline'],
    },
  });
  if (dir) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  return {
    async stop(name) {
      const profile = dir ? (await cdp.send('Profiler.stop')).profile : null;
      await cdp.send('Tracing.end');
      await done;
      await cdp.detach();
      const frame = frameOf(events);
      if (dir && frame) {
        const prefix = join(dir, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(`${prefix}.cpuprofile`, JSON.stringify(profile));
        writeFileSync(`${prefix}.trace.json`, JSON.stringify({ traceEvents: events }));
        summarizeProfile(profile, events, prefix, frame);
      }
      return frame?.times ?? null;
    },
  };
}

const RENDERING = ['Layout', 'UpdateLayoutTree', 'Paint', 'PrePaint', 'Layerize', 'Commit'];

/** The frame that drew (the longest animation frame callback of the trace), and the rendering after it up to the next frame after a paint. */
function frameOf(events) {
  const frames = events.filter((e) => e.ph === 'X' && e.name === 'FireAnimationFrame');
  const frame = frames.reduce((a, e) => (e.dur > (a?.dur ?? -1) ? e : a), null);
  if (!frame) return null;
  const main = (e) => e.ph === 'X' && e.tid === frame.tid && e.pid === frame.pid;
  const b = frame.ts + frame.dur;
  const paint = events
    .filter((e) => main(e) && e.name === 'Paint' && e.ts > b)
    .reduce((m, e) => Math.min(m, e.ts), b + 1e6);
  const next = frames.filter((e) => e.ts > paint).reduce((m, e) => Math.min(m, e.ts), b + 1e6);
  const after = events.filter((e) => main(e) && e.ts > b && e.ts < next && RENDERING.includes(e.name));
  const ms = (us) => (us ?? 0) / 1000;
  return {
    frame,
    main,
    next,
    times: {
      wall: ms(frame.dur),
      cpu: ms(frame.tdur),
      renderWall: after.reduce((a, e) => a + ms(e.dur), 0),
      renderCpu: after.reduce((a, e) => a + ms(e.tdur), 0),
    },
  };
}

function summarizeProfile(profile, events, prefix, { frame, main, next, times }) {
  const log = (line) => console.error(line);
  const frameName = (f) => `${f.functionName || '(anonymous)'} ${basename(f.url || '')}:${(f.lineNumber ?? -1) + 1}`;
  const [a, b] = [frame.ts, frame.ts + frame.dur];
  log(
    `  profile ${prefix}.{trace.json,cpuprofile}: the frame that drew, ${times.wall.toFixed(1)} ms (CPU ${times.cpu.toFixed(1)} ms), the rendering after it ${times.renderWall.toFixed(1)} ms (CPU ${times.renderCpu.toFixed(1)} ms)`,
  );
  // Layouts and style recalculations in it, by the script frame that forced them; then what follows it.
  const tally = (from, to, pick) => {
    const out = new Map();
    for (const e of events) {
      if (!main(e) || e.ts < from || e.ts > to) continue;
      const key = pick(e);
      if (!key) continue;
      const v = out.get(key) ?? { ms: 0, n: 0 };
      v.ms += (e.dur ?? 0) / 1000;
      v.n++;
      out.set(key, v);
    }
    return [...out].sort((x, y) => y[1].ms - x[1].ms);
  };
  const put = (rows, max = 12) => {
    for (const [k, v] of rows.slice(0, max))
      log(`    ${v.ms.toFixed(1).padStart(7)} ms ${String(v.n).padStart(4)}x  ${k}`);
  };
  log('  in it, layouts and style recalculations, by the function that forced them:');
  put(
    tally(a, b, (e) => {
      if (!['Layout', 'UpdateLayoutTree', 'RecalculateStyles'].includes(e.name)) return null;
      const stack = e.args?.beginData?.stackTrace ?? e.args?.data?.stackTrace;
      return `${e.name} <- ${stack?.length ? frameName(stack[0]) : '?'}`;
    }),
  );
  log('  the rendering after it (to the next frame), by kind:');
  put(
    tally(b, next, (e) => (RENDERING.includes(e.name) ? e.name : null)),
    6,
  );
  // The CPU profile's samples within the frame: self time, and inclusive time, per function.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const total = new Map();
  let t = profile.startTime;
  profile.samples.forEach((id, k) => {
    t += profile.timeDeltas[k] ?? 0;
    if (t < a || t > b) return;
    const dt = (profile.timeDeltas[k + 1] ?? 0) / 1000;
    const name = frameName(byId.get(id).callFrame);
    self.set(name, (self.get(name) ?? 0) + dt);
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const f = frameName(byId.get(n).callFrame);
      if (seen.has(f)) continue;
      seen.add(f);
      total.set(f, (total.get(f) ?? 0) + dt);
    }
  });
  const list = (m, max) => {
    for (const [k, v] of [...m].sort((x, y) => y[1] - x[1]).slice(0, max)) log(`    ${v.toFixed(1).padStart(7)}  ${k}`);
  };
  log('  in it, self time (ms) by function:');
  list(self, 20);
  log('  in it, total time (ms) by function:');
  list(total, 30);
}

const range = (s) => `${s.median} ms (${s.min}-${s.max})`;

function print(r) {
  const log = (line) => console.error(line);
  log(
    `monitor webview [${r.bundle}] (settings: ${JSON.stringify(r.settings)}, ripple ${r.noise}), headless Chromium (software canvas), ${r.layers} layers x ${r.records.toLocaleString('en-US')} records (${r.drawnPointsPerLayer} points drawn per layer), medians (ranges) of ${r.reps} repetitions:`,
  );
  const f = r.firstDraw;
  log(
    `  first draw: ${range(f.drawing)} drawing [goal <= ${GOALS.firstDrawMs} ms: ${r.goals.firstDrawMs.met ? 'met' : 'NOT met'}]: the frame's work ${range(f.frame)} (the rotation chart ${range(f.chart)}) and the canvas's pending drawing ${range(f.flush)}; before it, the 'load' message handled into columns ${range(f.load)}; end to end ${range(f.endToEnd)}`,
  );
  log(
    `  before the load, the page's warm-up of the drawing and its layout ahead (while the host reads the log): ${f.warmedUp ? `${range(f.warmUp)} in ${f.warmedUp} of ${r.reps}` : 'not run (an older bundle, or none within 5 s)'}`,
  );
  log(
    `  then the other panels (loss, accuracy, legend, table), in the next frame: ${range(f.rest)}; every panel drawn, end to end ${range(f.settledEndToEnd)}`,
  );
  log(
    `  first draw, traced: the frame ${range(f.traceFrame)}, its CPU time ${range(f.traceFrameCpu)}; the rendering after it (style, layout, paint) ${range(f.rendering)}, CPU ${range(f.renderingCpu)}`,
  );
  const a = r.append;
  log(
    `  ${a.batches} appends of ${a.recordsPerBatch} records a repetition (full redraws: ${a.fullDraws.median}): drawing ${range(a.drawing)} [goal < ${GOALS.appendMs} ms: ${r.goals.appendMs.met ? 'met' : 'NOT met'}]; frame's work ${range(a.frame)}; rotation chart ${range(a.chart)}; end to end (post -> next animation frame after the redraw) ${range(a.endToEnd)}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const arg = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const smoothing = Number(arg('--smoothing') ?? 0);
  const quantity = arg('--quantity') ?? 'distance';
  const log = args.includes('--log');
  const settings =
    smoothing || quantity !== 'distance' || log
      ? {
          x: 'epoch',
          smoothing,
          quantity,
          y: { distance: log ? 'log' : 'fixed', rate: 'log', loss: 'fixed', accuracy: 'auto' },
        }
      : undefined;
  const dists = args.flatMap((a, i) => (args[i - 1] === '--dist' ? [resolve(a)] : []));
  const reps = Number(arg('--reps') ?? 3);
  const profile = arg('--profile') ? resolve(arg('--profile')) : undefined;
  const appends = arg('--appends') ? Number(arg('--appends')) : undefined;
  const noise = arg('--noise') !== undefined ? Number(arg('--noise')) : undefined;
  benchWebviewRender({ settings, reps, dists, profile, appends, noise }).then(
    (results) => {
      for (const r of results) {
        print(r);
        console.log(JSON.stringify(r));
      }
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
