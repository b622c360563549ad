// A sweep in the workbench, seen from outside the extension host: "Layer Rotation: Run Sweep"
// (the Sweep CodeLens's command) on a config with a sweep block shows its progress in a
// notification and its node in the runs view ("sweep-long", "0 done, 1 running of 3"); then
// "Developer: Reload Window" (the extension host calls deactivate(), as when the window closes):
// the running point's runner must be gone a few seconds later, its log ending "stopped on
// request" (deactivate() did it), sweep.json saying so, and no other point started.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runCommand, screenshot, waitFor } from '../harness.mjs';
import { runners } from './lib/processes.mjs';
import { openNewFile } from './lib/workbench.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

const CONFIG = 'sweep-long.layerrot.json'; // 3 points of 200 epochs: runs until stopped

const sweepJson = (dir) => JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));

function events(runDir) {
  const file = join(runDir, 'events.jsonl');
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // '' after the last \n, or a line still being written
  return lines.map((l) => JSON.parse(l));
}

export default async function sweepLifecycle(session, t) {
  const { page, workspace } = session;
  copyFileSync(join(repoRoot, 'test', 'vscode', 'fixtures', 'configs', CONFIG), join(workspace, CONFIG));
  const sweepDir = join(workspace, 'runs', 'sweep-long-sweep');

  await openNewFile(page, CONFIG);
  // The Sweep CodeLens: the extension knows the editor, so the command runs this config's sweep.
  await page.locator('.codelens-decoration').filter({ hasText: 'Sweep' }).first().waitFor({ timeout: 30000 });
  await runCommand(page, 'Layer Rotation: Run Sweep');
  const runner = await waitFor(() => runners(sweepDir)[0], { timeout: 20000, what: "the sweep's first runner" });
  const first = () => sweepJson(sweepDir).points[0];
  await waitFor(() => first().runDir && events(join(sweepDir, first().runDir)).some((e) => e.type === 'rotation'), {
    timeout: 30000,
    what: 'rotation records of the first point',
  });
  await page
    .locator('.notifications-toasts .notification-toast')
    .filter({ hasText: /Sweep sweep-long/ })
    .first()
    .waitFor({ timeout: 15000 });
  await runCommand(page, 'Layer Rotation: Focus on Runs View');
  await page
    .locator('.monaco-list-row')
    .filter({ hasText: /sweep-long.*0 done, 1 running of 3/ })
    .first()
    .waitFor({ timeout: 15000 });
  t.diagnostic(`screenshot: ${await screenshot(page, 'sweep-running')}`);

  await runCommand(page, 'Developer: Reload Window');
  await waitFor(() => runners(sweepDir).length === 0, {
    timeout: 10000,
    what: `runner ${runner.pid} to exit after the window was reloaded`,
  });
  const log = events(join(sweepDir, first().runDir));
  const last = log.at(-1);
  assert.equal(last.type, 'run_finished');
  assert.equal(last.status, 'stopped', `the point ended ${last.status}: ${last.reason}`);
  assert.match(last.reason, /stopped on request/, `not stopped by deactivate(): ${last.reason}`);
  // The runner exits first; the extension host records the point's end in sweep.json right after.
  let points = sweepJson(sweepDir).points;
  await waitFor(
    () => {
      points = sweepJson(sweepDir).points;
      return points[0].status !== 'running';
    },
    { timeout: 5000, what: "sweep.json to record the stopped point (the runner's exit comes first)" },
  ).catch(() => {});
  assert.deepEqual(
    points.map((p) => p.status),
    ['stopped', 'pending', 'pending'],
    `sweep.json: ${JSON.stringify(points.map((p) => [p.id, p.status, p.reason]))}`,
  );
  // And still nothing a few seconds later: no other point started.
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(runners(sweepDir), [], 'runner processes left after deactivation');
  assert.deepEqual(
    readdirSync(sweepDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name),
    [sweepJson(sweepDir).points[0].folder],
  );
}
