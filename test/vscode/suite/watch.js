// Run logs written by other programs, followed in the real extension host: a log that appears in
// the workspace is picked up and followed as it grows; a corrupt line becomes a warning on that
// line of the log (and the lines around it still count); an outside run that ends with lagging
// layers gets one warning per layer on its log; a log truncated and rewritten starts over; a
// deleted log is forgotten; "Monitor Run Folder..." follows a folder outside the workspace. The
// writer here is the test itself, appending lines as a training script would.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 60000;

const LAYERS = ['conv1', 'conv2', 'fc'];

function started(runId) {
  return {
    v: 1,
    time: Date.now(),
    type: 'run_started',
    runId,
    name: runId,
    engine: 'pytorch',
    backend: 'cpu',
    dataset: { name: 'custom', train: 1000, validation: 0, test: 0, inputShape: [1, 28, 28], classes: 10 },
    layers: LAYERS.map((name) => ({
      name,
      kind: name.startsWith('conv') ? 'conv2d' : 'dense',
      shape: [3, 3],
      params: 9,
    })),
    epochs: 1,
    stepsPerEpoch: 100,
    batchSize: 10,
    totalSteps: 100,
    target: 1,
    lagMargin: 0.2,
  };
}
const rotation = (step, d) => ({
  v: 1,
  time: Date.now(),
  type: 'rotation',
  step,
  epoch: step / 100,
  distances: LAYERS.map((_, i) => (d * (i + 1)) / 3),
  rotation: [0, 0, 0],
  steps: 10,
});
const finished = (lagging) => ({
  v: 1,
  time: Date.now(),
  type: 'run_finished',
  status: 'completed',
  reason: 'trained 1 epoch',
  step: 100,
  epoch: 1,
  finalDistances: [0.1, 0.5, 1],
  testLoss: null,
  testAccuracy: null,
  trainAccuracy: 0.995, // it fit its training data: its layers are judged
  lagging,
  seconds: 3,
});
const line = (e) => `${JSON.stringify(e)}\n`;

function logDiagnostics(file, code) {
  return h.ourDiagnostics(vscode.Uri.file(file)).filter((d) => code === undefined || d.code === code);
}

let outsideDir;

exports.before = async () => {
  await h.activate();
};

exports.after = () => {
  if (outsideDir) fs.rmSync(outsideDir, { recursive: true, force: true });
};

exports.tests = {
  'a log written into the workspace is followed: a corrupt line is a warning on its line, lagging layers are problems on the log':
    async () => {
      const dir = path.join(h.workspaceDir(), 'experiments', 'script-run-1');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'events.jsonl');
      fs.writeFileSync(file, line(started('script-run-1')) + line(rotation(0, 0)));
      fs.appendFileSync(file, '{"v":1,"type":"rotation","step":10, this is not JSON\n');
      fs.appendFileSync(file, line(rotation(20, 0.2)));

      const skipped = await h.waitFor(
        () => {
          const d = logDiagnostics(file, 'skipped-line');
          return d.length === 1 ? d[0] : null;
        },
        { timeout: 20000, what: 'a warning on the corrupt line of the log' },
      );
      assert.equal(skipped.range.start.line, 2, 'the warning is not on line 3 (0-based 2)');
      assert.match(skipped.message, /^Line 3 is not a valid run-log event and was skipped: not valid JSON/);
      assert.equal(skipped.severity, vscode.DiagnosticSeverity.Warning);

      // The run goes on; it ends with two lagging layers.
      for (let s = 30; s <= 100; s += 10) fs.appendFileSync(file, line(rotation(s, s / 100)));
      fs.appendFileSync(
        file,
        line(
          finished([
            { name: 'conv1', distance: 0.1 },
            { name: 'conv2', distance: 0.5 },
          ]),
        ),
      );
      const lagging = await h.waitFor(
        () => {
          const d = logDiagnostics(file, 'lagging-layer');
          return d.length === 2 ? d : null;
        },
        { timeout: 20000, what: 'one problem per lagging layer on the log' },
      );
      assert.deepEqual(
        lagging.map((d) => /^Layer '(\w+)'/.exec(d.message)?.[1]),
        ['conv1', 'conv2'],
      );
      assert.match(
        lagging[0].message,
        /ended at cosine distance 0\.10, below the target 1 by more than 0\.2 and far below the run's other layers \(median 0\.50\), in a run that fit its training data \(99\.5% training accuracy\): by the paper's rule it lags/,
      );
      // One run's lag is an indicator (Information), the corrupt line a Warning.
      assert.deepEqual(
        lagging.map((d) => d.severity),
        [vscode.DiagnosticSeverity.Information, vscode.DiagnosticSeverity.Information],
      );
      assert.match(lagging[0].message, /layca_param_groups\(multipliers=\{'conv1': 2\}\)/);
      // The corrupt line is still reported: the lines after it did not reset anything.
      assert.equal(logDiagnostics(file, 'skipped-line').length, 1);

      // Rewritten from scratch (a writer that restarted): the old warnings go.
      fs.writeFileSync(file, line(started('script-run-1')) + line(rotation(0, 0)));
      await h.waitFor(() => logDiagnostics(file).length === 0, {
        timeout: 20000,
        what: 'the warnings to go once the log is rewritten',
      });
      fs.appendFileSync(file, 'garbage\n');
      await h.waitFor(() => logDiagnostics(file, 'skipped-line').some((d) => d.range.start.line === 2), {
        timeout: 20000,
        what: 'the corrupt line of the rewritten log',
      });

      // Deleted: forgotten.
      fs.rmSync(dir, { recursive: true, force: true });
      await h.waitFor(() => logDiagnostics(file).length === 0, {
        timeout: 20000,
        what: "the deleted log's warnings to go",
      });
    },

  'Monitor Run Folder follows a folder outside the workspace, including runs that start later': async () => {
    outsideDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-outside-runs-'));
    const first = path.join(outsideDir, 'job-1', 'events.jsonl');
    fs.mkdirSync(path.dirname(first));
    fs.writeFileSync(first, `${line(started('job-1'))}{broken\n${line(rotation(0, 0))}`);
    await vscode.commands.executeCommand('layerRotation.monitorRunFolder', vscode.Uri.file(outsideDir));
    await h.waitFor(() => logDiagnostics(first, 'skipped-line').length === 1, {
      timeout: 20000,
      what: 'the log in the added folder to be read',
    });

    // A run that starts after the folder was added.
    const second = path.join(outsideDir, 'job-2', 'events.jsonl');
    fs.mkdirSync(path.dirname(second));
    fs.writeFileSync(second, line(started('job-2')));
    // Which layers lag is the extension's verdict on finalDistances ([0.1, 0.5, 1]): conv1 and conv2.
    fs.appendFileSync(
      second,
      line(rotation(0, 0)) +
        line(
          finished([
            { name: 'conv1', distance: 0.1 },
            { name: 'conv2', distance: 0.5 },
          ]),
        ),
    );
    await h.waitFor(() => logDiagnostics(second, 'lagging-layer').length === 2, {
      timeout: 20000,
      what: 'the later run in the added folder to be followed',
    });
  },
};
