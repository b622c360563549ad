// The runs list in the workbench, as a user sees it: train a small synthetic config from the
// command palette; the completion notification is expanded (it has a Show Run button), so its
// whole message shows, wrapped, not cut after one line; the run's row in the Runs view shows its
// start date and time, test accuracy, verdict and rate; its context menu has "Reveal in File
// Explorer/OS" (code-server has no OS file manager: the run folder is selected in the Explorer)
// and "Delete Run", whose modal dialog asks first (Cancel keeps the run; code-server's file
// system has no trash, so a second dialog offers to delete it for good), after which the folder
// and the row are gone.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot, runCommand, screenshot, waitFor } from '../harness.mjs';
import { openNewFile, startTrainingFromPalette } from './lib/workbench.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

const CONFIG = 'lagging-synthetic.layerrot.json'; // ~2 s; 3 lagging layers, rate 0.2

function runFolders(workspace) {
  const runs = join(workspace, 'runs');
  return existsSync(runs) ? readdirSync(runs).filter((d) => d.startsWith('lagging-synthetic-')) : [];
}

/**
 * Right-clicks the row and picks `action` in its context menu. The menu ignores a click that
 * comes right after it opened: hover first, click, and press Enter on the item if the menu is
 * still open.
 */
async function contextAction(page, row, action) {
  await row.click({ button: 'right' });
  const menu = page.locator('.context-view .monaco-menu');
  const item = menu.locator('.action-item').filter({ hasText: action }).first();
  await item.waitFor({ timeout: 5000 });
  await item.hover();
  await sleep(300);
  await item.click();
  await sleep(300);
  if (await item.isVisible().catch(() => false)) await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'detached', timeout: 5000 });
}

/** The modal dialog's text, once shown. */
async function dialogText(page) {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 10000 });
  return (await dialog.locator('.dialog-message-row').innerText()).replace(/\s+/g, ' ').trim();
}

async function dialogButton(page, label) {
  await page.locator('.monaco-dialog-box .dialog-buttons .monaco-button').filter({ hasText: label }).first().click();
}

export default async function runsList(session, t) {
  const { page, workspace } = session;
  copyFileSync(join(repoRoot, 'test', 'vscode', 'fixtures', 'configs', CONFIG), join(workspace, CONFIG));
  await openNewFile(page, CONFIG);
  await startTrainingFromPalette(page);

  // The completion notification: expanded, the whole message shown.
  const toast = page
    .locator('.notifications-toasts .notification-toast')
    .filter({ hasText: /Training lagging-synthetic completed/ })
    .first();
  await toast.waitFor({ timeout: 60000 });
  const [runId] = runFolders(workspace);
  assert.ok(runId, 'no run folder');
  const message = toast.locator('.notification-list-item-message');
  const text = (await message.innerText()).replace(/\s+/g, ' ').trim();
  assert.match(
    text,
    /^Training lagging-synthetic completed: \d+\.\d\d% test accuracy, 3 lagging layers \(lr 0\.2 sgd, started [A-Z][a-z]{2} \d{1,2}( \d{4})? \d\d:\d\d\)\.$/,
  );
  assert.ok(
    await toast.locator('.notification-list-item.expanded').count(),
    'the notification is collapsed: its message is cut at one line',
  );
  const cut = await message.evaluate(
    (el) => el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1,
  );
  assert.equal(cut, false, 'the message overflows its box');
  assert.ok(await toast.locator('.monaco-button').filter({ hasText: 'Show Run' }).count(), 'no Show Run button');
  t.diagnostic(`screenshot: ${await screenshot(page, 'runs-list-notification')}`);

  // The run's row: date and time, accuracy, verdict, rate.
  await runCommand(page, 'Layer Rotation: Focus on Runs View');
  // A tree item: the completion notification is a list row with the same text (role dialog).
  const row = page
    .locator('.monaco-list-row[role="treeitem"]')
    .filter({ hasText: /lagging-synthetic/ })
    .filter({ hasText: /lr 0\.2/ })
    .first();
  await row.waitFor({ timeout: 15000 });
  const description = (await row.locator('.label-description').innerText()).trim();
  assert.match(description, /^[A-Z][a-z]{2} \d{1,2}( \d{4})? \d\d:\d\d · \d+\.\d% · 3 lagging · lr 0\.2 sgd$/);
  t.diagnostic(`row: lagging-synthetic ${description}`);
  t.diagnostic(`screenshot: ${await screenshot(page, 'runs-list-row')}`);

  // Reveal in File Explorer/OS: the Explorer, with the run folder selected.
  await contextAction(page, row, 'Reveal in File Explorer/OS');
  await page
    .locator('.explorer-folders-view .monaco-list-row.selected')
    .filter({ hasText: runId })
    .first()
    .waitFor({ timeout: 10000 });
  t.diagnostic(`screenshot: ${await screenshot(page, 'runs-list-revealed')}`);

  // Delete Run: Cancel keeps it.
  await runCommand(page, 'Layer Rotation: Focus on Runs View');
  await contextAction(page, row, 'Delete Run');
  assert.match(await dialogText(page), new RegExp(`Delete the run ${runId}\\?`));
  t.diagnostic(`screenshot: ${await screenshot(page, 'runs-list-delete-dialog')}`);
  await dialogButton(page, 'Cancel');
  await page.locator('.monaco-dialog-box').waitFor({ state: 'detached', timeout: 5000 });
  assert.deepEqual(runFolders(workspace), [runId]);

  // Confirmed: no trash in code-server, so a second dialog; the folder and its row go.
  await contextAction(page, row, 'Delete Run');
  await dialogText(page);
  await dialogButton(page, 'Move to Trash');
  await waitFor(async () => /Delete permanently\?/.test(await dialogText(page).catch(() => '')), {
    timeout: 10000,
    what: 'the dialog offering to delete for good',
  });
  await dialogButton(page, 'Delete Permanently');
  await waitFor(() => runFolders(workspace).length === 0, { timeout: 10000, what: `${runId} to be deleted` });
  await row.waitFor({ state: 'detached', timeout: 10000 });
}
