// Runs the extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3's workbench and
// extension host, from test/vscode/node_modules) driven by Debian's Chromium through
// playwright-core. Every session is isolated in a temporary run folder of its own (HOME,
// TMPDIR, XDG_* dirs, user data, extensions, Chromium profile, workspace copies), and its
// teardown kills every process it started and checks that none is left.
// Background and pitfalls: docs/testing-in-vscode.md.
//
//   const s = await startSession({ name: 'show-monitor', workspaceFrom: 'examples' });
//   await runCommand(s.page, 'Layer Rotation: Show Monitor');
//   await webviewFrame(s.page).locator('body').waitFor();
//   await screenshot(s.page, 'show-monitor');
//   await s.close();
//
// Extension-host tests: startSession({ extensionTestsPath }) then `await s.testsExit`
// ({ code, logs }): the module's run() is called inside the extension host, and its outcome
// comes back through the page function `codeAutomationExit` that the workbench calls.

import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The repository root: the extension's folder by default. */
export const repoRoot = resolve(here, '..', '..');
/** Screenshots and logs of the tests. */
export const artifactsDir = process.env.LRM_TEST_ARTIFACTS
  ? resolve(process.env.LRM_TEST_ARTIFACTS)
  : join(repoRoot, '.test-artifacts');
export const chromiumPath = process.env.LRM_CHROMIUM || '/usr/bin/chromium';
const codeServerBin = join(here, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** The environment variable, set to the run folder, that marks every process of a session. */
const MARK = 'LRM_VSCODE_TEST_RUN';

const CHROMIUM_ARGS = [
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

/** User settings written before code-server starts (U/User/settings.json). */
const BASE_SETTINGS = {
  // A walkthrough or welcome tab steals focus from the command palette.
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
};

export function log(...args) {
  if (process.env.LRM_TEST_VERBOSE) console.error('[harness]', ...args);
}

function ensureInstalled() {
  if (!existsSync(codeServerBin)) {
    throw new Error(`code-server is not installed in ${here}/node_modules: run scripts/install-test-vscode.sh`);
  }
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/install-test-vscode.sh (apt-get install chromium)`);
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

/** Sessions not yet torn down: killed on exit, Ctrl-C or SIGTERM (when a test runner dies
 * without calling close(), nothing of the session may outlive it). */
const liveSessions = new Set();
let exitHooked = false;

function killSessionSync(session) {
  const pgid = session.server?.pid;
  if (pgid) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const p of sessionProcesses(session.dirs.runDir, pgid)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function trackSession(session) {
  liveSessions.add(session);
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const s of liveSessions) {
      killSessionSync(s);
      if (!process.env.LRM_KEEP_RUN) rmSync(s.dirs.runDir, { recursive: true, force: true });
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      console.error(`[harness] ${sig}: killing ${liveSessions.size} session(s)`);
      process.exit(128 + { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig]);
    });
  }
}

/** Creates the isolated run folder of a session. */
export function createRunDir(name = 'run') {
  const base = process.env.LRM_TEST_TMP || tmpdir();
  const runDir = mkdtempSync(join(base, `lrm-vscode-${name.replace(/[^\w.-]/g, '_')}-`));
  const d = {
    runDir,
    home: join(runDir, 'home'),
    tmp: join(runDir, 'tmp'),
    xdgConfig: join(runDir, 'xdg', 'config'),
    xdgData: join(runDir, 'xdg', 'data'),
    xdgCache: join(runDir, 'xdg', 'cache'),
    xdgState: join(runDir, 'xdg', 'state'),
    xdgRuntime: join(runDir, 'xdg', 'runtime'),
    userData: join(runDir, 'user-data'),
    extensions: join(runDir, 'extensions'),
    chromiumProfile: join(runDir, 'chromium-profile'),
    workspaces: join(runDir, 'workspaces'),
  };
  for (const [k, v] of Object.entries(d)) if (k !== 'runDir') mkdirSync(v, { recursive: true, mode: 0o700 });
  return d;
}

/** The environment of the session's processes: isolated, marked, without variables that
 * would make code-server talk to another instance or change its port or password. */
function isolatedEnv(dirs, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VSCODE_|ELECTRON_|CS_|npm_)/i.test(k)) continue;
    if (
      [
        'PORT',
        'PASSWORD',
        'HASHED_PASSWORD',
        'GITHUB_TOKEN',
        'NODE_OPTIONS',
        'XDG_RUNTIME_DIR',
        'DISPLAY',
        'WAYLAND_DISPLAY',
        'DBUS_SESSION_BUS_ADDRESS',
      ].includes(k)
    )
      continue;
    env[k] = v;
  }
  Object.assign(
    env,
    {
      HOME: dirs.home,
      TMPDIR: dirs.tmp,
      TMP: dirs.tmp,
      TEMP: dirs.tmp,
      XDG_CONFIG_HOME: dirs.xdgConfig,
      XDG_DATA_HOME: dirs.xdgData,
      XDG_CACHE_HOME: dirs.xdgCache,
      XDG_STATE_HOME: dirs.xdgState,
      XDG_RUNTIME_DIR: dirs.xdgRuntime,
      SHELL: '/bin/sh',
      // No extension gallery (code-server's default is open-vsx.org, unreachable here).
      EXTENSIONS_GALLERY: '{}',
      [MARK]: dirs.runDir,
    },
    extra,
  );
  return env;
}

async function waitForHealthz(port, child, output, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  while (Date.now() < deadline) {
    if (exited)
      throw new Error(`code-server exited (${exited.code ?? exited.signal}) before answering /healthz:\n${output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  throw new Error(`code-server did not answer /healthz on port ${port} within ${timeoutMs} ms:\n${output()}`);
}

/**
 * Starts code-server, isolated in `dirs` (createRunDir()).
 * trust: 'off' (--disable-workspace-trust: everything trusted, no prompt),
 *        'untrusted' (trust on, no startup prompt: folders open in Restricted Mode),
 *        'trusted' (trust on; startSession() then trusts the folder with trustWorkspace()).
 */
export async function startCodeServer(dirs, { trust = 'off', settings = {}, env = {}, port } = {}) {
  ensureInstalled();
  port ??= await freePort();
  const userSettings = { ...BASE_SETTINGS };
  if (trust === 'untrusted') {
    userSettings['security.workspace.trust.enabled'] = true;
    userSettings['security.workspace.trust.startupPrompt'] = 'never';
  } else if (trust === 'trusted') {
    // startSession() trusts the folder through the trust editor once the workbench is up.
    userSettings['security.workspace.trust.enabled'] = true;
    userSettings['security.workspace.trust.startupPrompt'] = 'never';
  } else if (trust !== 'off') {
    throw new Error(`trust must be 'off', 'trusted' or 'untrusted', not ${trust}`);
  }
  Object.assign(userSettings, settings);
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify(userSettings, null, 2));
  // An explicit config file: code-server otherwise writes ~/.config/code-server/config.yaml.
  const configFile = join(dirs.runDir, 'code-server.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');

  const args = [
    codeServerBin,
    '--config',
    configFile,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
  ];
  if (trust === 'off') args.push('--disable-workspace-trust');

  const logFile = join(dirs.runDir, 'code-server.out.log');
  writeFileSync(logFile, '');
  let tail = '';
  const child = spawn(process.execPath, args, {
    cwd: dirs.home,
    env: isolatedEnv(dirs, env),
    detached: true, // its own process group: the extension host outlives code-server by ~5 s
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logging = true;
  const onData = (chunk) => {
    const s = chunk.toString();
    tail = (tail + s).slice(-20000);
    if (logging) {
      try {
        appendFileSync(logFile, s);
      } catch {
        logging = false;
      }
    }
  };
  // Resolves when code-server's stdout and stderr are closed (all its output is in the log).
  const closed = new Promise((resolveClosed) => child.once('close', resolveClosed));
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  log(`code-server pid ${child.pid} port ${port}`);
  const server = {
    port,
    pid: child.pid,
    child,
    dirs,
    trust,
    logFile,
    base: `http://127.0.0.1:${port}`,
    authority: `127.0.0.1:${port}`,
    output: () => tail,
    closed,
  };
  try {
    await waitForHealthz(port, child, () => tail, 30000);
  } catch (e) {
    await killGroup(child.pid);
    throw e;
  }
  return server;
}

/** The workbench URL for `folder`, with the extension loaded unpackaged from
 * extensionDevelopmentPath and, optionally, extensionTestsPath run in its extension host. */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath } = {}) {
  const remote = (p) => `vscode-remote://${server.authority}${resolve(p)}`;
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  const q = new URLSearchParams();
  if (folder) q.set('folder', resolve(folder));
  if (payload.length) q.set('payload', JSON.stringify(payload));
  return `${server.base}/?${q}`;
}

/** Launches Chromium (Debian's, through playwright-core) with its own profile and environment. */
export async function launchBrowser(dirs, { viewport = { width: 1440, height: 900 } } = {}) {
  ensureInstalled();
  const { chromium } = require('playwright-core');
  const context = await chromium.launchPersistentContext(dirs.chromiumProfile, {
    executablePath: chromiumPath,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
    env: isolatedEnv(dirs),
    viewport,
    timeout: 30000,
  });
  return context;
}

/**
 * Starts a whole session: run folder, code-server, Chromium, the workbench page.
 * Options:
 *   name                 used for the run folder and artifacts
 *   extensionPath        the extension's folder (default: the repository root; its main must exist)
 *   workspace            a folder to open as is, or
 *   workspaceFrom        a folder copied into the run folder and opened (relative: to the repo root)
 *   trust                'off' | 'trusted' | 'untrusted' (startCodeServer)
 *   extensionTestsPath   a module whose run() is called in the extension host
 *   env                  extra environment for code-server (and so the extension host)
 *   settings             extra user settings
 * Returns { name, dirs, server, context, page, url, workspace, testsExit, consoleLines, close() }.
 * testsExit (with extensionTestsPath) resolves to { code, logs } when the tests end.
 */
export async function startSession(opts = {}) {
  const name = opts.name ?? 'session';
  const extensionPath = resolve(opts.extensionPath ?? process.env.LRM_EXTENSION_PATH ?? repoRoot);
  checkExtension(extensionPath);
  const dirs = createRunDir(name);
  const session = { name, dirs, consoleLines: [], closed: false };
  session.close = (closeOpts) => teardown(session, closeOpts);
  trackSession(session);
  try {
    let workspace = opts.workspace ? resolve(opts.workspace) : undefined;
    if (opts.workspaceFrom) {
      const src = isAbsolute(opts.workspaceFrom) ? opts.workspaceFrom : join(repoRoot, opts.workspaceFrom);
      workspace = join(dirs.workspaces, basename(src));
      cpSync(src, workspace, { recursive: true });
    }
    session.workspace = workspace;
    session.server = await startCodeServer(dirs, {
      trust: opts.trust ?? 'off',
      settings: opts.settings,
      env: opts.env,
    });
    session.context = await launchBrowser(dirs);
    const consoleLog = join(dirs.runDir, 'browser-console.log');
    const record = (line) => {
      session.consoleLines.push(line);
      appendFileSync(consoleLog, `${line}\n`);
      if (process.env.LRM_TEST_VERBOSE) console.error(`[browser] ${line}`);
    };
    session.context.on('console', (m) => record(`${m.type()}: ${m.text()}`));
    session.context.on('weberror', (e) => record(`pageerror: ${e.error()?.stack ?? e.error()}`));

    if (opts.extensionTestsPath) {
      session.testsExit = new Promise((resolveExit) => {
        session.context.exposeFunction('codeAutomationExit', (code, logs) => {
          resolveExit({ code, logs: Array.isArray(logs) ? logs : [] });
        });
      });
    }
    session.page = session.context.pages()[0] ?? (await session.context.newPage());
    session.url = workbenchUrl(session.server, {
      folder: workspace,
      extensionDevelopmentPath: extensionPath,
      extensionTestsPath: opts.extensionTestsPath,
    });
    log(`open ${session.url}`);
    await session.page.goto(session.url, { waitUntil: 'domcontentloaded', timeout: 30000 });
    await session.page.locator('.monaco-workbench').waitFor({ timeout: 30000 });
    if (opts.trust === 'trusted') await trustWorkspace(session.page);
    return session;
  } catch (e) {
    await teardown(session, { failed: true }).catch((e2) => console.error(e2));
    throw e;
  }
}

function checkExtension(extensionPath) {
  const manifestPath = join(extensionPath, 'package.json');
  if (!existsSync(manifestPath)) throw new Error(`no extension at ${extensionPath} (package.json missing)`);
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  if (manifest.main) {
    const main = resolve(extensionPath, manifest.main);
    if (![main, `${main}.js`].some(existsSync)) {
      throw new Error(`the extension's main ${main} does not exist: run \`npm run build\` first`);
    }
  }
}

/**
 * Trusts the opened folder through the workbench, as a user would: the command "Workspaces:
 * Manage Workspace Trust", then the trust editor's "Trust" button. (The startup prompt is not
 * shown while extension tests run, so it cannot be relied on.)
 */
export async function trustWorkspace(page, { timeout = 20000 } = {}) {
  await runCommand(page, 'Workspaces: Manage Workspace Trust');
  const editor = page.locator('.workspace-trust-editor');
  await editor.waitFor({ timeout });
  await editor
    .locator('.monaco-button')
    .filter({ hasText: /^\s*Trust\s*$/ })
    .first()
    .click({ timeout });
  await editor.locator('.workspace-trust-header').filter({ hasText: 'You trust this folder' }).waitFor({ timeout });
  await runCommand(page, 'View: Close Editor');
}

// ---------------------------------------------------------------------------------------
// Workbench helpers

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Opens the quick input with `key` (F1: commands, Control+P: files), pressing it again until
 * the workbench takes it (keys pressed while the workbench is still starting are lost). */
async function openQuickInput(page, key, deadline) {
  const input = page.locator('.quick-input-widget input');
  for (;;) {
    if (await input.isVisible()) return input;
    await page.keyboard.press(key);
    try {
      await input.waitFor({ state: 'visible', timeout: 1000 });
      return input;
    } catch (_e) {
      if (Date.now() > deadline) throw new Error(`the quick input did not open with ${key}`);
    }
  }
}

/**
 * Runs a command through the command palette (F1): types `>title`, waits for the row whose
 * label is exactly `title` (or, with exact: false, the first row containing it) and clicks it.
 * Tries again until `timeout` (the command may not be registered yet right after start-up;
 * the palette's list does not update while open, so it is closed and reopened).
 */
export async function runCommand(page, title, { timeout = 20000, exact = true } = {}) {
  const deadline = Date.now() + timeout;
  const rows = page.locator('.quick-input-list .monaco-list-row');
  const row = exact
    ? rows
        .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(title)}\\s*$`) }) })
        .first()
    : rows.filter({ hasText: title }).first();
  let lastError;
  for (let attempt = 1; ; attempt++) {
    try {
      const input = await openQuickInput(page, 'F1', deadline);
      // Bounded (not Playwright's 30 s): a palette that closed under the typing (focus taken by a
      // view the test's work opens) is reopened by the next attempt.
      await input.fill(`>${title}`, { timeout: Math.max(500, Math.min(5000, deadline - Date.now())) });
      await row.waitFor({ state: 'visible', timeout: Math.max(500, Math.min(3000, deadline - Date.now())) });
      await row.click();
      // The palette closes, or the command opens a quick pick of its own in the same widget
      // (its input no longer holds the `>` command query).
      await waitFor(async () => !(await input.isVisible()) || !(await input.inputValue()).startsWith('>'), {
        timeout: 5000,
        interval: 50,
        what: `the palette to run "${title}"`,
      });
      return;
    } catch (e) {
      lastError = e;
      log(`runCommand(${title}) attempt ${attempt} failed: ${e.message.split('\n')[0]}`);
      if (Date.now() > deadline) break;
      await page.keyboard.press('Escape').catch(() => {});
      await sleep(300);
    }
  }
  const shown = await rows
    .locator('.label-name')
    .allInnerTexts()
    .catch(() => []);
  throw new Error(
    `command "${title}" not run from the command palette within ${timeout} ms: ${lastError?.message.split('\n')[0]}` +
      (shown.length ? `\n(the palette showed: ${shown.slice(0, 10).join(' | ')})` : ''),
  );
}

/** Opens a workspace file through Quick Open (Ctrl+P) and waits for its editor tab. */
export async function openFile(page, relativePath, { timeout = 10000 } = {}) {
  const input = await openQuickInput(page, 'Control+P', Date.now() + timeout);
  await input.fill(relativePath);
  const name = basename(relativePath);
  await page.locator('.quick-input-list .monaco-list-row').filter({ hasText: name }).first().waitFor({ timeout });
  await page.keyboard.press('Enter');
  await page.locator('.tabs-container .tab').filter({ hasText: name }).first().waitFor({ timeout });
}

/** The content frame of a webview (its outer iframe.webview, then the inner iframe#active-frame).
 * With several webviews, `nth` picks one among the visible ones (default: the first). */
export function webviewFrame(page, { nth = 0 } = {}) {
  return page
    .locator('iframe.webview')
    .filter({ visible: true })
    .nth(nth)
    .contentFrame()
    .locator('iframe#active-frame')
    .contentFrame();
}

/** Focuses the Problems panel and returns its rows' texts (`MESSAGE [Ln 1, Col 1]`, and file rows). */
export async function problems(page, { timeout = 8000 } = {}) {
  await runCommand(page, 'Problems: Focus on Problems View');
  const panel = page.locator('.markers-panel');
  await panel.waitFor({ state: 'visible', timeout });
  // Rows render after the panel: give the list a moment when the panel says it has problems.
  return await page
    .locator('.markers-panel .monaco-list-row')
    .allInnerTexts()
    .then((texts) => texts.map((t) => t.replace(/\s+/g, ' ').trim()));
}

/** Polls `fn` until it returns a truthy value (returned) or the timeout (throws with `what`). */
export async function waitFor(fn, { timeout = 15000, interval = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeout} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
      );
    await sleep(interval);
  }
}

/** Saves a screenshot of the page to .test-artifacts/<name>.png and returns its path. */
export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  const file = join(artifactsDir, `${name.replace(/[^\w.-]/g, '_')}.png`);
  await page.screenshot({ path: file });
  return file;
}

// ---------------------------------------------------------------------------------------
// Processes and teardown

function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return null;
  }
}

/** Live (not zombie) processes of a session: in code-server's process group `pgid`, or with
 * the run folder `runDir` in their environment (MARK) or command line. */
export function sessionProcesses(runDir, pgid) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const stat = readProc(pid, 'stat');
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const group = Number(fields[2]);
    if (state === 'Z' || state === 'X') continue;
    const cmdline = (readProc(pid, 'cmdline') ?? '').replace(/\0/g, ' ').trim();
    const environ = readProc(pid, 'environ') ?? '';
    if (
      (pgid && group === pgid) ||
      (runDir && (environ.includes(`${MARK}=${runDir}\0`) || cmdline.includes(`${runDir}/`)))
    ) {
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        /* gone */
      }
      found.push({ pid, pgid: group, exe, cmdline: cmdline.slice(0, 200) });
    }
  }
  return found;
}

async function killGroup(pgid, { graceMs = 1000 } = {}) {
  if (!pgid) return;
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return sessionProcesses(null, pgid).length > 0; // zombies do not count
    } catch {
      return false;
    }
  };
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (alive()) {
    log(`process group ${pgid} still alive after SIGTERM: SIGKILL`);
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Ends a session: closes Chromium, kills code-server's process group (extension host and
 * language servers included), kills anything else marked with the run folder, then throws if
 * any process of the session remains. Copies code-server's logs and the browser console into
 * .test-artifacts/<name>/ when `failed` (or LRM_KEEP_LOGS is set), and removes the run folder
 * unless LRM_KEEP_RUN is set.
 */
export async function teardown(session, { failed = false } = {}) {
  if (session.closed) return;
  session.closed = true;
  try {
    await teardownNow(session, failed);
  } finally {
    liveSessions.delete(session);
  }
}

async function teardownNow(session, failed) {
  const { dirs } = session;
  if (session.context) {
    await Promise.race([session.context.close().catch(() => {}), sleep(10000)]);
  }
  const pgid = session.server?.pid;
  await killGroup(pgid);
  // Its pipes close once every process holding them (extension host included) is gone.
  if (session.server) await Promise.race([session.server.closed, sleep(3000)]);
  let left = sessionProcesses(dirs.runDir, pgid);
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (left.length) {
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && (left = sessionProcesses(dirs.runDir, pgid)).length) await sleep(100);
  }
  if (failed || process.env.LRM_KEEP_LOGS) saveLogs(session);
  if (!process.env.LRM_KEEP_RUN && !left.length) {
    rmSync(dirs.runDir, { recursive: true, force: true, maxRetries: 3 });
  } else {
    console.error(`[harness] run folder kept: ${dirs.runDir}`);
  }
  if (left.length) {
    throw new Error(
      `processes of session ${session.name} survived its teardown:\n${left.map((p) => `  ${p.pid} ${p.cmdline}`).join('\n')}`,
    );
  }
}

/** Copies the session's logs (code-server's output, its logs folder, the browser console) into
 * .test-artifacts/<name>/ and returns that folder. */
export function saveLogs(session) {
  const out = join(artifactsDir, session.name.replace(/[^\w.-]/g, '_'));
  mkdirSync(out, { recursive: true });
  const { dirs } = session;
  for (const f of ['code-server.out.log', 'browser-console.log']) {
    if (existsSync(join(dirs.runDir, f))) cpSync(join(dirs.runDir, f), join(out, f));
  }
  if (existsSync(join(dirs.userData, 'logs')))
    cpSync(join(dirs.userData, 'logs'), join(out, 'logs'), { recursive: true });
  if (session.testsLogs?.length) {
    for (const { relativePath, contents } of session.testsLogs) {
      const p = join(out, 'browser-logs', relativePath);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, contents);
    }
  }
  return out;
}

/** The text of the extension host's logs of the session (remote extension host output,
 * extension host log, the server log that holds the extension host's stdout/stderr). */
export function extensionHostLogs(session) {
  const logs = join(session.dirs.userData, 'logs');
  if (!existsSync(logs)) return '';
  const parts = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/exthost|remoteagent|server/i.test(p) && e.name.endsWith('.log'))
        parts.push(`--- ${p.slice(logs.length + 1)}\n${readFileSync(p, 'utf8')}`);
    }
  };
  walk(logs);
  return parts.join('\n');
}
