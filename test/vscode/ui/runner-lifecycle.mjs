// The runner's life around the extension host, seen from outside it:
//  1. a runner killed from outside (SIGKILL) makes the workbench show an error notification,
//     and its log ends with run_finished 'failed';
//  2. no orphan after deactivation: with a long run going, "Developer: Reload Window". The
//     workbench, shutting down, sends the (remote) extension host its terminate message - the
//     same path as closing the window or the browser tab - and the extension host calls every
//     extension's deactivate() and waits for it (up to 5 s) before it exits. (code-server's web
//     workbench has no "Restart Extension Host"; killing the extension host would not call
//     deactivate() at all.) The extension's deactivate() asks its runners to stop: the runner
//     must be gone a few seconds later, and its log must end with run_finished 'stopped' "on
//     request". The runner's own fallback, when its parent just disappears, would say "the
//     process that started the run went away" instead, and a runner killed during deactivation
//     "failed ... SIGKILL": the reason tells that deactivate() did the work.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extensionHostLogs, repoRoot, runCommand, screenshot, waitFor } from '../harness.mjs';
import { readProc, runners } from './lib/processes.mjs';
import { openNewFile, startTrainingFromPalette } from './lib/workbench.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

const CONFIG = 'long.layerrot.json'; // 200 epochs: runs until stopped

function alive(pid) {
  const stat = readProc(pid, 'stat');
  return !!stat && !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]);
}

function events(runsDir, runId) {
  const file = join(runsDir, runId, 'events.jsonl');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  lines.pop(); // '' after the last \n, or a line still being written
  return lines.map((l) => JSON.parse(l));
}

/** Starts the config's training from the command palette (its editor active); returns the new runner. */
async function start(page, runsDir, known) {
  await openNewFile(page, CONFIG);
  await startTrainingFromPalette(page);
  const runner = await waitFor(() => runners(runsDir).find((r) => !known.has(r.runId)), {
    timeout: 20000,
    what: 'a new runner process',
  });
  known.add(runner.runId);
  const cmd = readProc(runner.ppid, 'cmdline')?.replace(/\0/g, ' ') ?? '';
  assert.match(
    cmd,
    /extensionHost/,
    `the runner's parent (${runner.ppid}) is not the extension host: ${cmd.slice(0, 200)}`,
  );
  await waitFor(() => events(runsDir, runner.runId).filter((e) => e.type === 'rotation').length >= 2, {
    timeout: 30000,
    what: `rotation records in the log of ${runner.runId}`,
  });
  // While it trains, the status bar says so (config, epoch x of y); clicking it shows the monitor.
  await page
    .locator('.statusbar-item')
    .filter({ hasText: /long: epoch \d+\/200/ })
    .first()
    .waitFor({ timeout: 15000 });
  return runner;
}

export default async function runnerLifecycle(session, t) {
  const { page, workspace } = session;
  copyFileSync(join(repoRoot, 'test', 'vscode', 'fixtures', 'configs', CONFIG), join(workspace, CONFIG));
  const runsDir = join(workspace, 'runs');
  const known = new Set();

  // 1. A crash: SIGKILL from outside.
  const first = await start(page, runsDir, known);
  process.kill(first.pid, 'SIGKILL');
  const toast = page
    .locator('.notifications-toasts .notification-toast')
    .filter({ hasText: /Training long failed: the runner was killed by SIGKILL/ });
  await toast.first().waitFor({ timeout: 15000 });
  const crashed = events(runsDir, first.runId);
  assert.equal(crashed.at(-1).type, 'run_finished');
  assert.equal(crashed.at(-1).status, 'failed');
  assert.match(crashed.at(-1).reason, /SIGKILL/);
  t.diagnostic(`screenshot: ${await screenshot(page, 'runner-lifecycle-crash')}`);
  await runCommand(page, 'Notifications: Clear All Notifications');

  // 2. Deactivation with a run going.
  const second = await start(page, runsDir, known);
  const extensionHost = second.ppid;
  t.diagnostic(`runner ${second.pid} of ${second.runId}, extension host ${extensionHost}`);
  const t0 = Date.now();
  await runCommand(page, 'Developer: Reload Window');
  await waitFor(() => !alive(second.pid), {
    timeout: 10000,
    what: `runner ${second.pid} to exit after the window was reloaded`,
  });
  t.diagnostic(`runner gone ${Date.now() - t0} ms after "Reload Window"`);
  await waitFor(() => !alive(extensionHost), {
    timeout: 10000,
    what: `the old extension host ${extensionHost} to exit`,
  });
  t.diagnostic(`extension host ${extensionHost} gone ${Date.now() - t0} ms after "Reload Window"`);
  // It was terminated (deactivate() called), not killed.
  const hostLogs = extensionHostLogs(session);
  assert.match(hostLogs, /Extension host terminating: received terminate message from renderer/);
  assert.match(hostLogs, new RegExp(`Extension host with pid ${extensionHost} exiting with code 0`));
  const log = events(runsDir, second.runId);
  const last = log.at(-1);
  assert.equal(last.type, 'run_finished', `the log of ${second.runId} ends with ${last.type}`);
  assert.equal(log.filter((e) => e.type === 'run_finished').length, 1);
  assert.equal(last.status, 'stopped', `the run ended ${last.status}: ${last.reason}`);
  assert.match(last.reason, /stopped on request/, `not stopped by deactivate(): ${last.reason}`);
  assert.ok(existsSync(join(runsDir, second.runId, 'summary.json')), 'no summary.json');
  // And still nothing a few seconds later (no runner of this workspace at all).
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(runners(runsDir), [], 'runner processes left after deactivation');
}
