// The monitor's chart settings are kept for the workspace: with a run in the workspace, pick a
// log y axis and steps on the x axis in the side bar's monitor; "Open Monitor in Editor" opens a
// second monitor (a new webview, with no state of its own), which shows the same settings (from
// the extension's workspaceState); after "Developer: Reload Window" a new editor monitor still
// does. Screenshots of both.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCommand, screenshot, waitFor, webviewFrame } from '../harness.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

const RUN_ID = 'monitor-settings-run';

function writeRun(workspace) {
  const fixture = join(repoRoot, 'test', 'vscode', 'fixtures', 'run-logs', 'lagging-synthetic-run', 'events.jsonl');
  const events = readFileSync(fixture, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  for (const e of events)
    if (e.type === 'run_started') {
      e.runId = RUN_ID;
      delete e.configFile;
    }
  const dir = join(workspace, 'runs', RUN_ID);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
}

/** The monitor in the nth visible webview: its test state, once it shows the run. */
async function monitorIn(page, nth) {
  const body = webviewFrame(page, { nth }).locator('body');
  const state = () => body.evaluate(() => window.__layerRotationMonitor ?? null);
  await waitFor(
    async () => {
      const s = await state();
      return s && s.runId === RUN_ID && s.seriesCount > 0;
    },
    { timeout: 30000, what: `the monitor (webview ${nth}) to show ${RUN_ID}` },
  );
  return { body, state };
}

export default async function monitorSettings(session, t) {
  const { page, workspace } = session;
  writeRun(workspace);
  await runCommand(page, 'Layer Rotation: Show Monitor');
  const side = await monitorIn(page, 0);
  assert.equal((await side.state()).settings.y.distance, 'fixed', 'the defaults at first');
  await side.body.locator('[data-control="distance-y"] [data-value="log"]').click();
  await side.body.locator('[data-control="x-axis"] [data-value="step"]').click();
  await waitFor(
    async () => {
      const s = (await side.state()).settings;
      return s.y.distance === 'log' && s.x === 'step';
    },
    { what: 'the side monitor to take the settings' },
  );
  t.diagnostic(`side view: ${JSON.stringify((await side.state()).settings)}`);

  // A new monitor, in the editor area: the same settings, from the host.
  await runCommand(page, 'Layer Rotation: Open Monitor in Editor');
  const panelFrame = async () => {
    for (let nth = 0; nth < 3; nth++) {
      const s = await webviewFrame(page, { nth })
        .locator('body')
        .evaluate(() => window.__layerRotationMonitor ?? null)
        .catch(() => null);
      if (s && s.runId === RUN_ID && (await page.locator('iframe.webview').filter({ visible: true }).count()) > 1)
        return nth;
    }
    return null;
  };
  await waitFor(async () => (await page.locator('iframe.webview').filter({ visible: true }).count()) >= 2, {
    timeout: 30000,
    what: 'the editor monitor to open beside the side view',
  });
  const settingsOf = async (nth) => (await (await monitorIn(page, nth)).state()).settings;
  const all = async () => {
    const out = [];
    const n = await page.locator('iframe.webview').filter({ visible: true }).count();
    for (let nth = 0; nth < n; nth++) out.push(await settingsOf(nth));
    return out;
  };
  assert.ok((await panelFrame()) !== null);
  const both = await all();
  t.diagnostic(`monitors: ${JSON.stringify(both)}`);
  for (const s of both) {
    assert.equal(s.y.distance, 'log');
    assert.equal(s.x, 'step');
  }
  t.diagnostic(`screenshot: ${await screenshot(page, 'monitor-settings-panel')}`);

  // After a reload: a new editor monitor still shows them (the side view's webview may not be
  // resolved yet: only the monitors that show the run count).
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForTimeout(3000);
  await runCommand(page, 'Layer Rotation: Open Monitor in Editor', { timeout: 60000 });
  const shown = async () => {
    const out = [];
    const n = await page.locator('iframe.webview').filter({ visible: true }).count();
    for (let nth = 0; nth < n; nth++) {
      const s = await webviewFrame(page, { nth })
        .locator('body')
        .evaluate(() => window.__layerRotationMonitor ?? null, undefined, { timeout: 2000 })
        .catch(() => null);
      if (s && s.runId === RUN_ID && s.seriesCount > 0) out.push(s.settings);
    }
    return out.length ? out : null;
  };
  const after = await waitFor(shown, { timeout: 45000, what: 'a monitor showing the run after the reload' });
  t.diagnostic(`after the reload: ${JSON.stringify(after)}`);
  for (const s of after) {
    assert.equal(s.y.distance, 'log', JSON.stringify(after));
    assert.equal(s.x, 'step');
  }
  t.diagnostic(`screenshot: ${await screenshot(page, 'monitor-settings-after-reload')}`);
}
