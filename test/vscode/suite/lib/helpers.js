// Helpers shared by the extension-host suites (not a test module: suite/index.js only loads the
// .js files directly in suite/).

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'layer-rotation.layer-rotation-monitor';
const SOURCE = 'Layer Rotation';
const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a truthy value (returned) or the timeout (throws with `what`
 * and the last value seen). */
async function waitFor(fn, { timeout = 15000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const shown = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${shown?.slice(0, 2000)})`);
    }
    await sleep(interval);
  }
}

/** Races a promise against a timeout. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function activate() {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} not found`);
  await ext.activate();
  return ext;
}

function workspaceDir() {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the session opened no workspace folder');
  return folder.uri.fsPath;
}

/** Copies fixtures/configs/<name> into the workspace (as `as`, default the same name) and
 * returns its Uri. */
function installConfig(name, as = name) {
  const dest = path.join(workspaceDir(), as);
  fs.copyFileSync(path.join(FIXTURES, 'configs', name), dest);
  return vscode.Uri.file(dest);
}

function fixtureText(name) {
  return fs.readFileSync(path.join(FIXTURES, 'configs', name), 'utf8');
}

/** The extension's diagnostics on a file (source 'Layer Rotation'), optionally of one severity. */
function ourDiagnostics(uri, severity) {
  return vscode.languages
    .getDiagnostics(uri)
    .filter((d) => d.source === SOURCE && (severity === undefined || d.severity === severity));
}

/** "L:C-L:C message" of a diagnostic (0-based, as vscode.Range), for messages and comparisons. */
function describeDiagnostic(d) {
  const r = d.range;
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character} ${d.message}`;
}

/** The Range of the only occurrence of `needle` in `text` (0-based lines and characters). */
function rangeOfText(text, needle, { from = 0 } = {}) {
  const at = text.indexOf(needle, from);
  assert.ok(at >= 0, `"${needle}" not in the text`);
  assert.equal(text.indexOf(needle, at + 1), -1, `"${needle}" is in the text more than once`);
  return rangeAt(text, at, needle.length);
}

function rangeAt(text, offset, length) {
  const pos = (o) => {
    const before = text.slice(0, o).split('\n');
    return new vscode.Position(before.length - 1, before[before.length - 1].length);
  };
  return new vscode.Range(pos(offset), pos(offset + length));
}

function sameRange(a, b) {
  return (
    a.start.line === b.start.line &&
    a.start.character === b.start.character &&
    a.end.line === b.end.line &&
    a.end.character === b.end.character
  );
}

function showRange(r) {
  return `${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}`;
}

// ---------------------------------------------------------------------------------------
// Runs and their processes

function readProc(pid, file) {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return null;
  }
}

/**
 * Runner processes (runner.js) whose parent is this extension host, by pid; `live: true` leaves
 * out zombies (a stopped child not reaped yet).
 */
function childRunners({ live = false } = {}) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = readProc(entry, 'cmdline');
    const stat = readProc(entry, 'stat');
    if (cmdline === null || stat === null) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== process.pid || !/runner\.js/.test(cmdline)) continue;
    if (live && fields[0] === 'Z') continue;
    found.push(Number(entry));
  }
  return found;
}

/** Live (not zombie) runner processes of a run: runner.js with the run's id on the command line. */
function runnerProcesses(runId) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = (readProc(entry, 'cmdline') ?? '').split('\0');
    // The runner's argument is its JSON RunnerArgs: match the run id exactly (a run started in
    // the same second as another gets the other's id plus a suffix).
    if (
      !cmdline.some((a) => /(^|\/)runner\.js$/.test(a)) ||
      !cmdline.some((a) => a.includes(`"runId":${JSON.stringify(runId)}`))
    )
      continue;
    const stat = readProc(entry, 'stat');
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') continue;
    found.push({ pid: Number(entry), ppid: Number(fields[1]) });
  }
  return found;
}

/** The one runner process of a run (waits for it); checks that this extension host started it. */
async function runnerOf(runId) {
  const procs = await waitFor(
    () => {
      const p = runnerProcesses(runId);
      return p.length ? p : null;
    },
    { what: `the runner process of ${runId}` },
  );
  assert.equal(procs.length, 1, `more than one runner for ${runId}: ${JSON.stringify(procs)}`);
  assert.equal(
    procs[0].ppid,
    process.pid,
    `the runner of ${runId} is not a child of the extension host (pid ${process.pid})`,
  );
  return procs[0].pid;
}

function runDir(runId) {
  return path.join(workspaceDir(), 'runs', runId);
}

/** The run's events.jsonl: every line must be one JSON object (a last line without its \n
 * yet is left out, as readers do). */
function readLog(runId, { complete = true } = {}) {
  const file = path.join(runDir(runId), 'events.jsonl');
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const partial = lines.pop(); // '' when the file ends with \n
  if (complete) assert.equal(partial, '', `${file} does not end with a newline`);
  return lines.map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1} is not JSON (${e.message}): ${line.slice(0, 200)}`);
    }
  });
}

/** Waits until the run's log has `type` events (at least `count`); returns the events. */
function waitForEvents(runId, type, { count = 1, timeout = 30000 } = {}) {
  return waitFor(
    () => {
      const events = readLog(runId, { complete: false });
      return events.filter((e) => e.type === type).length >= count ? events : null;
    },
    { timeout, what: `${count} '${type}' event(s) in the log of ${runId}` },
  );
}

/** Waits until no runner process of the run is left. */
function waitForNoRunner(runId, timeout = 10000) {
  return waitFor(() => runnerProcesses(runId).length === 0, {
    timeout,
    what: `the runner of ${runId} to exit (left: ${JSON.stringify(runnerProcesses(runId))})`,
  });
}

/** Starts a run through the command; returns its id once its runner is up. */
async function startTraining(uri) {
  const runId = await within(
    vscode.commands.executeCommand('layerRotation.startTraining', uri),
    20000,
    'layerRotation.startTraining',
  );
  assert.equal(typeof runId, 'string', `layerRotation.startTraining returned ${JSON.stringify(runId)}, not a run id`);
  return runId;
}

module.exports = {
  EXTENSION_ID,
  SOURCE,
  FIXTURES,
  sleep,
  waitFor,
  within,
  activate,
  workspaceDir,
  installConfig,
  fixtureText,
  ourDiagnostics,
  describeDiagnostic,
  rangeOfText,
  rangeAt,
  sameRange,
  showRange,
  childRunners,
  runnerProcesses,
  runnerOf,
  runDir,
  readLog,
  waitForEvents,
  waitForNoRunner,
  startTraining,
};
