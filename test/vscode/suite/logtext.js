// Text from a run log that another program wrote, on its way to the Problems panel (issue 11,
// case 6): a layer name and a corrupt line holding escape sequences, carriage returns and line
// breaks. Every message built from them is one line with no control character
// (src/runlog/sanitize.ts, used by src/vscode/logDiagnostics.ts), whatever the log holds.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 60000;

const EVIL = 'x\u001b]0;pwned\u0007\u001b[2J\r\nsecond\u009b31m';
const LAYERS = [`conv1${EVIL}`, 'conv2', 'fc'];

const line = (e) => `${JSON.stringify(e)}\n`;
const started = {
  v: 1,
  type: 'run_started',
  runId: 'evil-text-run',
  engine: 'pytorch',
  backend: 'cpu',
  dataset: { name: 'custom', train: 1000, validation: 0, test: 0, inputShape: [1, 28, 28], classes: 10 },
  layers: LAYERS.map((name) => ({ name, kind: 'dense', shape: [3, 3], params: 9 })),
  epochs: 1,
  stepsPerEpoch: 100,
  totalSteps: 100,
};
const rotation = (step, d) => ({
  v: 1,
  type: 'rotation',
  step,
  epoch: step / 100,
  distances: [d / 10, d, d],
  rotation: [0, 0, 0],
  steps: 10,
});
const finished = {
  v: 1,
  type: 'run_finished',
  status: 'completed',
  reason: `trained${EVIL}`,
  step: 100,
  epoch: 1,
  finalDistances: [0.1, 0.9, 1],
  testLoss: null,
  testAccuracy: null,
  trainAccuracy: 0.995,
  lagging: [],
  seconds: 3,
};

exports.before = async () => {
  await h.activate();
};

exports.tests = {
  'escape sequences and line breaks in a log reach the Problems panel escaped, one line per message': async () => {
    const dir = path.join(h.workspaceDir(), 'experiments', 'evil-text-run');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(
      file,
      line(started) +
        line(rotation(0, 0)) +
        // A corrupt line whose own bytes the JSON error quotes.
        `{"v":1,"type":"rotation" \u001b[2J\r\u001b]0;t\u0007 garbage\n` +
        line(rotation(50, 0.5)) +
        line(rotation(100, 1)) +
        line(finished),
    );
    const diags = await h.waitFor(
      () => {
        const d = h.ourDiagnostics(vscode.Uri.file(file));
        return d.some((x) => x.code === 'skipped-line') && d.some((x) => x.code === 'lagging-layer') ? d : null;
      },
      { timeout: 20000, what: 'a warning on the corrupt line and a problem on the lagging layer' },
    );
    for (const d of diags) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not be there
      const bad = /[\u0000-\u001f\u007f-\u009f]/.exec(d.message);
      assert.equal(bad, null, `a control character U+${bad?.[0].charCodeAt(0).toString(16)} in: ${d.message}`);
    }
    const skipped = diags.find((d) => d.code === 'skipped-line');
    assert.equal(skipped.range.start.line, 2);
    assert.match(skipped.message, /^Line 3 is not a valid run-log event and was skipped: not valid JSON/);
    const lag = diags.find((d) => d.code === 'lagging-layer');
    assert.ok(
      lag.message.startsWith(String.raw`Layer 'conv1x\e]0;pwned\x07\e[2J\r\nsecond\x9b31m' ended at`),
      lag.message,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  },
};
