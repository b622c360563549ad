// Helpers shared by the UI tests (not a test module: run-tests.mjs only runs the .mjs files
// directly in ui/).
import { basename } from 'node:path';
import { log, openFile, runCommand, waitFor } from '../../harness.mjs';

/**
 * Opens a workspace file through Quick Open, trying again until `timeout`: a file the test has
 * just written into the workspace may be missing from the first file search (seen on a loaded
 * machine); each new Quick Open searches again.
 */
export async function openNewFile(page, relativePath, { timeout = 40000 } = {}) {
  const deadline = Date.now() + timeout;
  for (let attempt = 1; ; attempt++) {
    try {
      await openFile(page, relativePath, { timeout: 5000 });
      // The file's editor is the active one.
      await waitFor(
        async () => (await page.locator('.tabs-container .tab.active').innerText()).includes(basename(relativePath)),
        { timeout: 5000, what: `${relativePath} to be the active editor` },
      );
      return;
    } catch (e) {
      log(`openNewFile(${relativePath}) attempt ${attempt}: ${e.message.split('\n')[0]}`);
      if (Date.now() > deadline) throw e;
      await page.keyboard.press('Escape').catch(() => {});
    }
  }
}

/**
 * "Layer Rotation: Start Training" from the command palette for the config in the active
 * editor. Waits first for the config's CodeLens ("Train"): then the extension host knows the
 * editor and the extension is active, so the command trains that config (were the editor not
 * known yet, the command would ask which config to train).
 */
export async function startTrainingFromPalette(page) {
  await page.locator('.codelens-decoration').filter({ hasText: 'Train' }).first().waitFor({ timeout: 30000 });
  await runCommand(page, 'Layer Rotation: Start Training');
}
