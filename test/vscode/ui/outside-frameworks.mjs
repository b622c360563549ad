// Keras 3 and PyTorch Lightning scripts started outside the editor, as a user starts them from a
// terminal, writing their run logs into the workspace's runs folder (layer_rotation.keras's and
// layer_rotation.lightning's RotationCallback; the scripts are fixtures/scripts/*_outside.py,
// run with the Python that has both frameworks, as CI's .venv): each run shows up in the Runs
// view marked "outside" while it trains, its epoch advancing in its row before the script ends;
// then its row takes its finished form, and a click on it shows the monitor with the run's layers
// by name, in the model's order. A third run (the Keras script told to raise at its second epoch)
// ends failed, the error in its row's tooltip. No line of the three logs is skipped (no
// "not a valid run-log event" problem). Skips, saying why, when no Python here has keras and
// lightning.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { log, problems, repoRoot, runCommand, screenshot, waitFor, webviewFrame } from '../harness.mjs';
import { pythonEnv, pythonWith } from './lib/python.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

let python;

export async function skip() {
  const found = pythonWith(['torch', 'keras', 'lightning']);
  if (!found.python) return found.why;
  python = found.python;
  log(`outside-frameworks: ${python} (${found.versions})`);
  return null;
}

const SCRIPTS = join(repoRoot, 'test', 'vscode', 'fixtures', 'scripts');
const EPOCHS = 4;
const RUNS = [
  { name: 'keras-outside', script: 'keras_outside.py', args: [], layers: ['conv', 'hidden', 'logits'] },
  {
    name: 'lightning-outside',
    script: 'lightning_outside.py',
    args: [],
    layers: ['features.0', 'features.2', 'head'],
  },
  {
    name: 'keras-fails',
    script: 'keras_outside.py',
    args: ['--name', 'keras-fails', '--fail-at-epoch', '2'],
    layers: ['conv', 'hidden', 'logits'],
    fails: 'RuntimeError: a failure planted by the test at epoch 2',
  },
];

/** The Runs view's rows, as { name, description }. */
function runRows(page) {
  return page.locator('.monaco-list-row[role="treeitem"]').evaluateAll((rows) =>
    rows.map((r) => ({
      name: r.querySelector('.label-name')?.textContent?.trim() ?? '',
      description: r.querySelector('.label-description')?.textContent?.trim() ?? '',
    })),
  );
}

/** The events of the run folder under `runs` whose name starts with `name-` (the callbacks' default run_dir). */
function runLog(runs, name) {
  if (!existsSync(runs)) return null;
  const dirs = readdirSync(runs).filter(
    (d) => d.startsWith(`${name}-`) && /^\d{8}-\d{6}/.test(d.slice(name.length + 1)),
  );
  if (dirs.length !== 1) return null;
  const file = join(runs, dirs[0], 'events.jsonl');
  if (!existsSync(file)) return null;
  const events = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  return { runId: dirs[0], events };
}

const LIVE = new RegExp(`^outside · epoch (\\d+)/${EPOCHS} · `);
// Finished: no state word (completed) or "failed", its start date and time, ..., the scripts'
// optimizer and rate (Keras's SGD and Lightning's torch SGD at 0.05).
const DATE = '[A-Z][a-z]{2} \\d{1,2}( \\d{4})? \\d\\d:\\d\\d';
const COMPLETED = new RegExp(`^outside · ${DATE} · .*lr 0\\.05 sgd$`);
const FAILED = new RegExp(`^outside · failed · ${DATE} · .*lr 0\\.05 sgd$`);

export default async function outsideFrameworks(session, t) {
  const { page, workspace } = session;
  const runs = join(workspace, 'runs');
  await runCommand(page, 'Layer Rotation: Focus on Runs View');

  const procs = RUNS.map((run) => {
    const child = spawn(python, [join(SCRIPTS, run.script), runs, '--epochs', String(EPOCHS), ...run.args], {
      env: pythonEnv(),
      cwd: workspace,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = { run, child, output: '', seenLive: new Set(), exited: null };
    child.stdout.on('data', (d) => {
      p.output += d;
    });
    child.stderr.on('data', (d) => {
      p.output += d;
    });
    p.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    return p;
  });
  try {
    // While the scripts train: each row, read while its script still runs.
    await waitFor(
      async () => {
        const rows = await runRows(page);
        for (const p of procs) {
          const row = rows.find((r) => r.name === p.run.name);
          if (row && p.child.exitCode === null && LIVE.test(row.description)) p.seenLive.add(row.description);
        }
        return procs.every((p) => p.child.exitCode !== null);
      },
      { timeout: 150000, interval: 150, what: 'the three scripts to end' },
    );
    for (const p of procs) {
      const code = await p.exited;
      const epochs = [...new Set([...p.seenLive].map((d) => Number(LIVE.exec(d)[1])))].sort();
      t.diagnostic(`${p.run.name}: exit ${code}; epochs seen in its row while it ran: ${epochs.join(', ')}`);
      if (p.run.fails) {
        assert.notEqual(code, 0, `${p.run.name} should have failed:\n${p.output}`);
        assert.match(p.output, new RegExp(p.run.fails));
        assert.ok(epochs.length >= 1, `${p.run.name}'s row was never seen while it ran`);
      } else {
        assert.equal(code, 0, `${p.run.name} failed:\n${p.output}`);
        // Live: its row showed at least two epochs before the script ended.
        assert.ok(
          epochs.length >= 2,
          `${p.run.name}'s row did not advance while it ran: ${JSON.stringify([...p.seenLive])}`,
        );
      }
    }
  } finally {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        log(`killing ${p.run.name}: ${p.output}`);
        p.child.kill('SIGKILL');
      }
    }
  }

  // Finished: each row in its finished form, the log's last event run_finished.
  for (const { run } of procs) {
    const logged = runLog(runs, run.name);
    assert.ok(logged, `no run folder of ${run.name} in ${runs}`);
    const { events } = logged;
    const fin = events[events.length - 1];
    assert.equal(fin.type, 'run_finished');
    assert.equal(fin.status, run.fails ? 'failed' : 'completed', fin.reason);
    const row = await waitFor(
      async () =>
        (await runRows(page)).find((r) => r.name === run.name && (run.fails ? FAILED : COMPLETED).test(r.description)),
      { timeout: 20000, what: `${run.name}'s row to take its ${run.fails ? 'failed' : 'finished'} form` },
    );
    t.diagnostic(`${run.name}: ${row.description}`);
  }
  t.diagnostic(`screenshot: ${await screenshot(page, 'outside-frameworks-runs')}`);

  // A click on a row: the monitor shows that run, its layers by name in the model's order.
  const monitor = webviewFrame(page).locator('body');
  for (const { run } of procs) {
    const { runId } = runLog(runs, run.name);
    await runCommand(page, 'Layer Rotation: Focus on Runs View');
    const row = page
      .locator('.monaco-list-row[role="treeitem"]')
      .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${run.name}$`) }) })
      .first();
    await row.click();
    const state = await waitFor(
      async () => {
        const s = await monitor.evaluate(() => window.__layerRotationMonitor ?? null);
        return s && s.runId === runId && s.tableLayers.length > 0 ? s : null;
      },
      { timeout: 30000, what: `the monitor to show ${runId}` },
    );
    assert.deepEqual(state.tableLayers, run.layers, `${run.name}'s layers in the monitor`);
    assert.equal(state.seriesCount, run.layers.length);
    if (run.fails) {
      // Its row's tooltip says why it failed (the mouse leaves the row first: the hover shows on entering it).
      await page.mouse.move(900, 700);
      await row.hover();
      const hover = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: runId }).first();
      await hover.waitFor({ timeout: 10000 });
      const text = (await hover.innerText()).replace(/\s+/g, ' ');
      assert.match(text, new RegExp(`failed: .*${run.fails}`), text);
      t.diagnostic(`screenshot: ${await screenshot(page, 'outside-frameworks-failed')}`);
      await page.mouse.move(0, 0);
    }
  }

  // No line of the logs skipped by the extension's parser.
  const rows = await problems(page);
  const skipped = rows.filter((r) => r.includes('is not a valid run-log event'));
  assert.deepEqual(skipped, [], 'lines of the outside logs were skipped');
}
