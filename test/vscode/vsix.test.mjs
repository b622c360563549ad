// The packaged extension: `npm run package`'s .vsix, installed into a fresh code-server like a
// user would, trains the default example offline (MNIST shipped inside the .vsix) and shows it
// live in the monitor; Stop ends the run cleanly. Then the same example with "engine": "pytorch":
// the Python package inside the .vsix trains it (MNIST from the .vsix too), live, and stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';
import { openNewFile } from './ui/lib/workbench.mjs';

const codeServer = join(h.repoRoot, 'test', 'vscode', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

function latestVsix() {
  const files = readdirSync(h.repoRoot)
    .filter((f) => f.endsWith('.vsix'))
    .map((f) => join(h.repoRoot, f));
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}

test('the .vsix installs and trains the default example offline, live in the monitor', {
  timeout: 240000,
}, async (t) => {
  const vsix = latestVsix();
  assert.ok(vsix, 'no .vsix: run `npm run package` first');
  const dirs = h.createRunDir('vsix');
  execFileSync(
    process.execPath,
    [codeServer, '--install-extension', vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData],
    {
      env: {
        ...process.env,
        HOME: dirs.home,
        XDG_CONFIG_HOME: dirs.xdgConfig,
        XDG_DATA_HOME: dirs.xdgData,
        EXTENSIONS_GALLERY: '{}',
      },
      stdio: 'pipe',
    },
  );
  const workspace = join(dirs.workspaces, 'examples');
  cpSync(join(h.repoRoot, 'examples'), workspace, { recursive: true, filter: (src) => !src.includes(`${'/'}runs`) });
  const session = { name: 'vsix', dirs, consoleLines: [], closed: false };
  let failed = true;
  try {
    session.server = await h.startCodeServer(dirs, {
      settings: {
        'layerRotation.pythonPath':
          process.env.LAYER_ROTATION_PYTHON ??
          (process.env.VIRTUAL_ENV ? join(process.env.VIRTUAL_ENV, 'bin', 'python') : '/usr/bin/python3'),
      },
    });
    session.context = await h.launchBrowser(dirs);
    const page = (session.page = session.context.pages()[0] ?? (await session.context.newPage()));
    await page.goto(`${session.server.base}/?folder=${encodeURIComponent(workspace)}`, {
      waitUntil: 'domcontentloaded',
      timeout: 30000,
    });
    await page.locator('.monaco-workbench').waitFor({ timeout: 30000 });
    // Quick Open finds files once the workspace is indexed, a few seconds after the workbench shows.
    await h.openFile(page, 'mnist-default.layerrot.json', { timeout: 30000 });
    await h.runCommand(page, 'Layer Rotation: Start Training');
    const frame = h.webviewFrame(page);
    const state = async () => frame.locator('body').evaluate(() => window.__layerRotationMonitor ?? null);
    await h.waitFor(
      async () => {
        const s = await state().catch(() => null);
        return s && s.seriesCount === 6 && s.points >= 3;
      },
      { timeout: 120000, what: 'the monitor to draw 6 layer curves of the default example' },
    );
    const s = await state();
    assert.ok(
      s.lastValues.every((v) => v > 0 && v < 2),
      `last distances ${s.lastValues}`,
    );
    t.diagnostic(`screenshot: ${await h.screenshot(page, 'vsix-training')}`);
    await h.runCommand(page, 'Layer Rotation: Stop Training');
    const runsDir = join(workspace, 'runs');
    await h.waitFor(
      () => {
        const runs = existsSync(runsDir) ? readdirSync(runsDir) : [];
        return (
          runs.length === 1 && readFileSync(join(runsDir, runs[0], 'events.jsonl'), 'utf8').includes('"run_finished"')
        );
      },
      { timeout: 30000, what: 'the run to end after Stop' },
    );
    const run = join(runsDir, readdirSync(runsDir)[0]);
    const events = readFileSync(join(run, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(events[0].type, 'run_started');
    assert.equal(events[0].dataset.train, 54000, 'the full MNIST, from the copy inside the .vsix');
    assert.equal(events.at(-1).status, 'stopped');

    // The pytorch engine, from the Python package inside the .vsix.
    const text = readFileSync(join(workspace, 'mnist-default.layerrot.json'), 'utf8').replace(
      '"name": "mnist-default",',
      '"name": "torch-default", "engine": "pytorch",',
    );
    assert.ok(text.includes('"engine": "pytorch"'));
    writeFileSync(join(workspace, 'torch-default.layerrot.json'), text);
    await openNewFile(page, 'torch-default.layerrot.json');
    await h.runCommand(page, 'Layer Rotation: Start Training');
    const torchRun = () =>
      existsSync(runsDir) ? readdirSync(runsDir).filter((d) => d.startsWith('torch-default-')) : [];
    await h.waitFor(
      async () => {
        const st = await state().catch(() => null);
        return torchRun().length === 1 && st && st.runId === torchRun()[0] && st.seriesCount === 6 && st.points >= 3;
      },
      { timeout: 120000, what: 'the monitor to draw the PyTorch run of the default example' },
    );
    t.diagnostic(`screenshot: ${await h.screenshot(page, 'vsix-training-pytorch')}`);
    await h.runCommand(page, 'Layer Rotation: Stop Training');
    const torchLog = () => readFileSync(join(runsDir, torchRun()[0], 'events.jsonl'), 'utf8');
    await h.waitFor(() => torchLog().includes('"run_finished"'), {
      timeout: 30000,
      what: 'the PyTorch run to end after Stop',
    });
    const torchEvents = torchLog()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(torchEvents[0].engine, 'pytorch');
    assert.equal(torchEvents[0].dataset.train, 54000, 'the full MNIST, from the copy inside the .vsix');
    assert.equal(torchEvents.at(-1).status, 'stopped', torchEvents.at(-1).reason);
    failed = false;
  } finally {
    await h.teardown(session, { failed });
  }
});
