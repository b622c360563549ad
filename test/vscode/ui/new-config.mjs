// "Layer Rotation: New Training Config..." copies an example into the workspace (without the
// repository's $schema path: the extension provides the schema by file name) and opens it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, waitFor } from '../harness.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

export default async function newConfig(session, t) {
  const { page, workspace } = session;
  await runCommand(page, 'Layer Rotation: New Training Config...');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10000 });
  await page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ hasText: 'mnist-adam-layca' })
    .first()
    .waitFor({ timeout: 10000 });
  await input.fill('mnist-adam-layca');
  await page.keyboard.press('Enter');
  // The workspace already holds mnist-adam-layca.layerrot.json: the copy gets a new name.
  const dest = join(workspace, 'mnist-adam-layca-2.layerrot.json');
  await waitFor(() => existsSync(dest), { timeout: 10000, what: `${dest} to be written` });
  await page
    .locator('.tabs-container .tab')
    .filter({ hasText: 'mnist-adam-layca-2.layerrot.json' })
    .first()
    .waitFor({ timeout: 10000 });
  const text = readFileSync(dest, 'utf8');
  assert.ok(!text.includes('$schema'), 'the copy keeps the repository-relative $schema');
  assert.match(text, /"layca": true/);
  t.diagnostic(`new config: ${dest}`);
}
