// A *.layerrot.json with errors shows them in the Problems panel (from the schema the
// extension's manifest contributes through jsonValidation, and from the extension's own checks).
import assert from 'node:assert/strict';
import { openFile, problems, screenshot, waitFor } from '../harness.mjs';

export const options = { workspaceFrom: 'test/vscode/fixtures/broken-config', trust: 'off' };

const aboutOptimiser = /optimi[sz]er.*\[Ln 7, Col 3\]/i; // "optimiser" (line 7) is not a key
const aboutEpochs = /\[Ln 8, Col 27\]/; // schedule.epochs: "three" (line 8) is not an integer

export default async function configProblems({ page }) {
  await openFile(page, 'broken.layerrot.json');
  let rows = [];
  try {
    // Diagnostics come from more than one source, at different times: wait for both lines.
    await waitFor(
      async () => {
        rows = await problems(page);
        return rows.some((t) => aboutOptimiser.test(t)) && rows.some((t) => aboutEpochs.test(t));
      },
      { timeout: 30000, interval: 1000, what: 'the problems of broken.layerrot.json' },
    );
  } finally {
    await screenshot(page, 'config-problems');
  }
  const text = rows.join('\n');
  assert.ok(
    rows.some((t) => aboutOptimiser.test(t)),
    `no problem about the misspelt "optimiser" on line 7 among:\n${text}`,
  );
  assert.ok(
    rows.some((t) => aboutEpochs.test(t)),
    `no problem about schedule.epochs on line 8 among:\n${text}`,
  );
}
