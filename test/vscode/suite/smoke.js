// Smoke test in the real extension host: the extension is there, activates, and registers
// its commands.

const assert = require('node:assert/strict');
const vscode = require('vscode');

const EXTENSION_ID = 'layer-rotation.layer-rotation-monitor';
const COMMANDS = [
  'layerRotation.startTraining',
  'layerRotation.stopTraining',
  'layerRotation.showMonitor',
  'layerRotation.openRun',
  'layerRotation.newConfig',
];

exports.tests = {
  'the extension is present': async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(
      ext,
      `extension ${EXTENSION_ID} not found among ${
        vscode.extensions.all
          .map((e) => e.id)
          .filter((id) => !id.startsWith('vscode.'))
          .join(', ') || '(no non-builtin extension)'
      }`,
    );
  },

  'it activates': async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    await ext.activate();
    assert.equal(ext.isActive, true);
  },

  'its commands are registered': async () => {
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = COMMANDS.filter((c) => !all.has(c));
    assert.deepEqual(missing, [], `commands not registered: ${missing.join(', ')}`);
  },
};
