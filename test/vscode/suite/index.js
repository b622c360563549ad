// The extension-host test runner: VS Code loads this module (extensionTestsPath) inside the
// real extension host and awaits run(); a rejection means failure (exit code 1).
//
// A test module in this folder exports `tests`, an object of async test functions run in
// order (and optionally `before` / `after` functions and `timeout`, in ms, per test):
//
//   const assert = require('node:assert/strict');
//   const vscode = require('vscode');
//   exports.tests = { 'the extension is there': async () => { assert.ok(vscode.extensions.getExtension('a.b')); } };
//
// Which modules run: LRM_SUITE_FILES (comma-separated, relative to this folder), set by
// run-tests.mjs in code-server's environment, which the extension host inherits; by default
// every .js module here but this one.
// Results: one line per test on the extension host's stdout (code-server logs it) and on
// console.error for failures (the workbench shows those), and, as the authority the harness
// reads, a JSON file at LRM_SUITE_RESULTS: [{ file, name, ok, ms, error }].

const fs = require('node:fs');
const path = require('node:path');

const DEFAULT_TIMEOUT = 30000;

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function say(line) {
  // The extension host's stdout goes to code-server's log; console.log does not (it is
  // forwarded to the workbench, which drops all but errors while running tests).
  try {
    process.stdout.write(`[lrm-suite] ${line}\n`);
  } catch {
    /* no stdout */
  }
}

function describe(err) {
  if (err instanceof Error) return err.stack || `${err.name}: ${err.message}`;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

async function runModule(file, results) {
  const abs = path.resolve(__dirname, file);
  let mod;
  try {
    mod = require(abs);
  } catch (err) {
    results.push({ file, name: '(load)', ok: false, ms: 0, error: describe(err) });
    return;
  }
  const tests = mod.tests || {};
  const timeout = mod.timeout || DEFAULT_TIMEOUT;
  const hook = async (name) => {
    if (typeof mod[name] !== 'function') return true;
    const t0 = Date.now();
    try {
      await withTimeout(
        Promise.resolve().then(() => mod[name]()),
        timeout,
        name,
      );
      return true;
    } catch (err) {
      results.push({ file, name: `(${name})`, ok: false, ms: Date.now() - t0, error: describe(err) });
      say(`not ok - ${file}: (${name})\n${describe(err)}`);
      return false;
    }
  };
  if (await hook('before')) {
    for (const [name, fn] of Object.entries(tests)) {
      const t0 = Date.now();
      try {
        await withTimeout(
          Promise.resolve().then(() => fn()),
          timeout,
          `test "${name}"`,
        );
        results.push({ file, name, ok: true, ms: Date.now() - t0 });
        say(`ok - ${file}: ${name} (${Date.now() - t0} ms)`);
      } catch (err) {
        results.push({ file, name, ok: false, ms: Date.now() - t0, error: describe(err) });
        say(`not ok - ${file}: ${name}\n${describe(err)}`);
        console.error(`[lrm-suite] FAILED ${file}: ${name}\n${describe(err)}`);
      }
    }
  }
  await hook('after');
}

exports.run = async function run() {
  const files = process.env.LRM_SUITE_FILES
    ? process.env.LRM_SUITE_FILES.split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    : fs
        .readdirSync(__dirname)
        .filter((f) => f.endsWith('.js') && f !== 'index.js')
        .sort();
  const results = [];
  for (const file of files) await runModule(file, results);
  if (process.env.LRM_SUITE_RESULTS) {
    fs.writeFileSync(process.env.LRM_SUITE_RESULTS, JSON.stringify(results, null, 2));
  }
  const failed = results.filter((r) => !r.ok);
  say(`${results.length - failed.length} passed, ${failed.length} failed`);
  if (failed.length || !results.length) {
    throw new Error(results.length ? `${failed.length} of ${results.length} tests failed` : 'no tests ran');
  }
};
