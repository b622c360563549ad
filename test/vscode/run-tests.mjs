// Runs the extension's tests in a real VS Code (code-server + Chromium, see harness.mjs):
//   1. the extension-host suites (suite/*.js, through suite/index.js), one code-server session
//      per entry of SUITES below;
//   2. the UI tests (ui/*.mjs), one session each: a module exports `options` (for
//      startSession) and a default async function receiving the session, and may export
//      `skip`, an async function returning why the test cannot run here (or null).
// Output: node:test's (TAP when piped, spec on a terminal); exit code 1 on any failure.
// Screenshots go to .test-artifacts/; on a failure, the session's logs (code-server, extension
// host, browser console) go to .test-artifacts/<session>/.
//
//   node test/vscode/run-tests.mjs [--extension PATH] [--grep REGEX] [--verbose]
//
// --extension (or LRM_EXTENSION_PATH): the extension's folder (default: the repository root,
// whose dist/extension.js `npm run build` makes). --grep: only the sessions whose name matches.
// Needs scripts/install-test-vscode.sh to have run.
import { test } from 'node:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as h from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));

// Extension-host sessions: which suite modules run in which workspace, with which trust.
// LRM_EXPECT_TRUSTED is what suite/trust.js checks. One session per trust mode (a session
// costs about 8 s to start): the suites write their fixture configs into the workspace copy.
const SUITES = [
  {
    name: 'trusted',
    files: ['smoke.js', 'trust.js', 'diagnostics.js', 'runs.js', 'lagging.js', 'pytorch.js'],
    workspaceFrom: 'examples',
    trust: 'off',
    env: { LRM_EXPECT_TRUSTED: '1' },
  },
  {
    // Comparing runs (issue 9): its own session, so that it runs alone with --grep compare.
    name: 'compare',
    files: ['compare.js'],
    workspaceFrom: 'examples',
    trust: 'off',
    env: { LRM_EXPECT_TRUSTED: '1' },
  },
  {
    // The runs list, a config edited after its run, Reveal and Delete Run (issue 10).
    name: 'runs-list',
    files: ['runs-list.js', 'watch-settings.js'],
    workspaceFrom: 'examples',
    trust: 'off',
    env: { LRM_EXPECT_TRUSTED: '1' },
  },
  {
    // The monitor's host side (settings, exports): its own session, so that it runs alone with --grep monitor.
    name: 'monitor',
    files: ['monitor.js'],
    workspaceFrom: 'examples',
    trust: 'off',
    env: { LRM_EXPECT_TRUSTED: '1' },
  },
  {
    name: 'untrusted',
    files: ['smoke.js', 'trust.js', 'untrusted.js', 'restore.js', 'watch.js', 'watch-settings.js', 'logtext.js'],
    workspaceFrom: 'examples',
    trust: 'untrusted',
    env: { LRM_EXPECT_TRUSTED: '0' },
  },
  {
    name: 'sweeps',
    files: ['sweeps.js'],
    workspaceFrom: 'examples',
    trust: 'off',
    env: { LRM_EXPECT_TRUSTED: '1' },
  },
];
const SUITE_TIMEOUT_MS = 180000;
const UI_TIMEOUT_MS = 180000;

const { values: args } = parseArgs({
  options: {
    extension: { type: 'string' },
    grep: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
if (args.verbose) process.env.LRM_TEST_VERBOSE = '1';
const extensionPath = resolve(args.extension ?? process.env.LRM_EXTENSION_PATH ?? h.repoRoot);
const grep = args.grep ? new RegExp(args.grep) : null;
const selected = (name) => !grep || grep.test(name);

const resultsDir = mkdtempSync(join(tmpdir(), 'lrm-vscode-results-'));
process.on('exit', () => rmSync(resultsDir, { recursive: true, force: true }));

/** Removes what an earlier run of this session left in .test-artifacts (its logs, failure shot). */
function clearArtifacts(sessionName) {
  rmSync(join(h.artifactsDir, sessionName), { recursive: true, force: true });
  rmSync(join(h.artifactsDir, `${sessionName}-failure.png`), { force: true });
}

function timeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function timing(t0, t1, t2, what) {
  const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
  return `start ${sec(t1 - t0)}, ${what} ${sec(t2 - t1)}, teardown ${sec(Date.now() - t2)}`;
}

/** An Error carrying the text (stack included) of an error raised in the extension host:
 * all of it is the message, so that the reporter prints it whole. */
function remoteError(text) {
  const e = new Error(String(text).trimEnd());
  e.stack = e.message;
  return e;
}

const started = Date.now();

for (const suite of SUITES) {
  const name = `extension host: ${suite.name}`;
  test(name, { skip: !selected(suite.name) && 'not matching --grep', timeout: SUITE_TIMEOUT_MS + 30000 }, async (t) => {
    const resultsFile = join(resultsDir, `${suite.name}.json`);
    clearArtifacts(`suite-${suite.name}`);
    const t0 = Date.now();
    const session = await h.startSession({
      name: `suite-${suite.name}`,
      extensionPath,
      workspaceFrom: suite.workspaceFrom,
      trust: suite.trust,
      extensionTestsPath: join(here, 'suite', 'index.js'),
      env: { ...suite.env, LRM_SUITE_FILES: suite.files.join(','), LRM_SUITE_RESULTS: resultsFile },
    });
    const t1 = Date.now();
    let t2;
    let failed = true;
    try {
      const exit = await timeout(session.testsExit, SUITE_TIMEOUT_MS, `the extension host tests of ${suite.name}`);
      t2 = Date.now();
      session.testsLogs = exit.logs;
      const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
      for (const r of results) {
        await t.test(`${r.file}: ${r.name}`, () => {
          if (!r.ok) throw remoteError(r.error);
        });
      }
      failed = exit.code !== 0 || results.some((r) => !r.ok);
      if (exit.code !== 0 && !results.some((r) => !r.ok)) {
        // run() failed outside any test (no results, a load error...): show the extension host's side.
        throw new Error(
          `the extension host tests exited with code ${exit.code} (results: ${results.length ? 'all passed' : 'none'})\n` +
            h.extensionHostLogs(session).split('\n').slice(-60).join('\n'),
        );
      }
    } catch (e) {
      await h.screenshot(session.page, `suite-${suite.name}-failure`).catch(() => {});
      throw e;
    } finally {
      await session.close({ failed });
      if (failed) t.diagnostic(`logs saved in ${join(h.artifactsDir, `suite-${suite.name}`)}`);
      t.diagnostic(timing(t0, t1, t2 ?? Date.now(), 'tests'));
    }
  });
}

const uiDir = join(here, 'ui');
const uiTests = readdirSync(uiDir)
  .filter((f) => f.endsWith('.mjs'))
  .sort();
for (const file of uiTests) {
  const base = file.replace(/\.mjs$/, '');
  test(`ui: ${base}`, { skip: !selected(base) && 'not matching --grep', timeout: UI_TIMEOUT_MS + 30000 }, async (t) => {
    const mod = await import(pathToFileURL(join(uiDir, file)).href);
    // A test that needs what this machine may lack (a framework) says why it skips, before any session.
    const skip = mod.skip ? await mod.skip() : null;
    if (skip) {
      t.skip(skip);
      return;
    }
    clearArtifacts(`ui-${base}`);
    const t0 = Date.now();
    const session = await h.startSession({ name: `ui-${base}`, extensionPath, ...mod.options });
    const t1 = Date.now();
    let t2;
    let failed = true;
    try {
      await timeout(mod.default(session, t), UI_TIMEOUT_MS, `ui test ${base}`);
      t2 = Date.now();
      failed = false;
    } catch (e) {
      const shot = await h.screenshot(session.page, `ui-${base}-failure`).catch(() => null);
      if (shot) t.diagnostic(`screenshot: ${shot}`);
      throw e;
    } finally {
      await session.close({ failed });
      if (failed) t.diagnostic(`logs saved in ${join(h.artifactsDir, `ui-${base}`)}`);
      t.diagnostic(timing(t0, t1, t2 ?? Date.now(), 'test'));
    }
  });
}

process.on('exit', () => {
  process.stdout.write(
    `# real VS Code tests: ${((Date.now() - started) / 1000).toFixed(1)} s, artifacts in ${h.artifactsDir}\n`,
  );
});
