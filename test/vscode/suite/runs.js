// The run manager in the real extension host: a run started with layerRotation.startTraining
// gets its folder under <workspace>/runs/<runId>/ and a runner child process; stopTraining ends
// it cleanly (run_finished 'stopped', summary.json, no process left); a runner killed from
// outside (SIGKILL) still gets its run_finished 'failed' line, and training works afterwards;
// several runs go at once, each with its own runner and log.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 60000;

let config; // Uri of the long synthetic run (200 epochs)
const started = [];

/** Checks the end of a finished run's log and its folder. */
function checkFinished(runId, status) {
  const events = h.readLog(runId); // every line parses
  assert.equal(events[0].type, 'run_started', `the first event of ${runId} is ${events[0].type}`);
  assert.equal(events[0].runId, runId);
  const last = events[events.length - 1];
  assert.equal(last.type, 'run_finished', `the last event of ${runId} is ${last.type}, not run_finished`);
  assert.equal(events.filter((e) => e.type === 'run_finished').length, 1, `${runId}: more than one run_finished`);
  assert.equal(last.status, status, `${runId} ended ${last.status} (${last.reason}), not ${status}`);
  assert.ok(
    events.every((e) => e.v === 1 && typeof e.type === 'string'),
    'an event without v: 1 or type',
  );
  const summaryFile = path.join(h.runDir(runId), 'summary.json');
  assert.ok(fs.existsSync(summaryFile), `${summaryFile} is missing`);
  const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8'));
  assert.equal(summary.runId, runId);
  return last;
}

exports.before = async () => {
  await h.activate();
  config = h.installConfig('long.layerrot.json');
};

exports.tests = {
  'startTraining on an invalid config starts no run and returns undefined': async () => {
    const invalid = h.installConfig('broken.layerrot.json', 'invalid.layerrot.json');
    const runs = path.join(h.workspaceDir(), 'runs');
    const before = fs.existsSync(runs) ? fs.readdirSync(runs) : [];
    // It shows the errors in a notification; the command must not wait for it to be dismissed.
    const result = await h.within(
      vscode.commands.executeCommand('layerRotation.startTraining', invalid),
      5000,
      'layerRotation.startTraining on an invalid config',
    );
    assert.equal(result, undefined);
    assert.deepEqual(fs.existsSync(runs) ? fs.readdirSync(runs) : [], before, 'a run folder was created');
    fs.rmSync(invalid.fsPath);
  },

  'startTraining returns the run id; the run folder appears and its log grows': async () => {
    const runId = await h.startTraining(config);
    started.push(runId);
    assert.match(runId, /^long-\d{8}-\d{6}(-\d+)?$/);
    const dir = h.runDir(runId);
    assert.ok(fs.existsSync(dir), `no run folder ${dir}`);
    assert.ok(fs.existsSync(path.join(dir, 'config.layerrot.json')), 'no copy of the config in the run folder');
    await h.runnerOf(runId); // a child of this extension host

    const events = await h.waitForEvents(runId, 'rotation', { count: 2 });
    const first = events[0];
    assert.equal(first.type, 'run_started');
    assert.equal(first.configFile, config.fsPath);
    assert.equal(first.backend, 'wasm');
    assert.deepEqual(
      first.layers.map((l) => l.name),
      ['dense1', 'dense2', 'output'],
    );
    const file = path.join(dir, 'events.jsonl');
    const size = fs.statSync(file).size;
    await h.waitFor(() => fs.statSync(file).size > size, { what: 'events.jsonl to grow' });
  },

  'stopTraining ends it: run_finished stopped, every line parses, summary.json, no runner left': async () => {
    const runId = started[0];
    const pid = await h.runnerOf(runId);
    await h.within(
      vscode.commands.executeCommand('layerRotation.stopTraining', runId),
      15000,
      'layerRotation.stopTraining',
    );
    const last = checkFinished(runId, 'stopped');
    assert.match(last.reason, /stopped on request/);
    await h.waitForNoRunner(runId, 5000);
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `runner ${pid} is still there (or not reaped)`);
  },

  'a runner killed with SIGKILL: its log ends with run_finished failed naming SIGKILL': async () => {
    const runId = await h.startTraining(config);
    started.push(runId);
    const pid = await h.runnerOf(runId);
    await h.waitForEvents(runId, 'rotation', { count: 2 });
    process.kill(pid, 'SIGKILL');
    await h.waitForNoRunner(runId, 5000);
    const events = await h.waitForEvents(runId, 'run_finished', { timeout: 10000 });
    const last = events[events.length - 1];
    assert.equal(last.type, 'run_finished');
    assert.equal(last.status, 'failed');
    assert.match(last.reason, /SIGKILL/);
    checkFinished(runId, 'failed');
    // (The error notification it shows is checked in the UI test ui/runner-lifecycle.mjs.)
  },

  'a new run starts after the crash, and stops': async () => {
    const runId = await h.startTraining(config);
    started.push(runId);
    assert.notEqual(runId, started[1]);
    await h.runnerOf(runId);
    await h.waitForEvents(runId, 'rotation', { count: 2 });
    await h.within(
      vscode.commands.executeCommand('layerRotation.stopTraining', runId),
      15000,
      'layerRotation.stopTraining',
    );
    checkFinished(runId, 'stopped');
    await h.waitForNoRunner(runId, 5000);
  },

  'the runsFolder and recordsPerEpoch settings apply to new runs': async () => {
    const settings = vscode.workspace.getConfiguration('layerRotation');
    await settings.update('runsFolder', 'custom-runs', vscode.ConfigurationTarget.Workspace);
    await settings.update('recordsPerEpoch', 2, vscode.ConfigurationTarget.Workspace);
    try {
      const runId = await h.startTraining(config);
      started.push(runId);
      const log = path.join(h.workspaceDir(), 'custom-runs', runId, 'events.jsonl');
      const records = await h.waitFor(
        () => {
          const lines = fs.existsSync(log)
            ? fs
                .readFileSync(log, 'utf8')
                .split('\n')
                .filter(Boolean)
                .map((l) => JSON.parse(l))
            : [];
          const rot = lines.filter((e) => e.type === 'rotation');
          return rot.length >= 4 ? { started: lines[0], rot } : null;
        },
        { timeout: 30000, what: `4 rotation records in ${log}` },
      );
      // 2 records an epoch (every floor(stepsPerEpoch / 2) steps), and one at the epoch's end.
      const per = records.started.stepsPerEpoch;
      const every = Math.floor(per / 2);
      const expected = [0, every, 2 * every, per].filter((v, i, a) => a.indexOf(v) === i).slice(0, 3);
      assert.deepEqual(
        records.rot.slice(0, expected.length).map((e) => e.step),
        expected,
      );
      await h.within(
        vscode.commands.executeCommand('layerRotation.stopTraining', runId),
        15000,
        'layerRotation.stopTraining',
      );
    } finally {
      await settings.update('runsFolder', undefined, vscode.ConfigurationTarget.Workspace);
      await settings.update('recordsPerEpoch', undefined, vscode.ConfigurationTarget.Workspace);
    }
  },

  'several runs at once: each trains with its own runner and log, and each stops on its own': async () => {
    const a = await h.startTraining(config);
    const b = await h.startTraining(config);
    started.push(a, b);
    assert.notEqual(a, b);
    const [pa, pb] = [await h.runnerOf(a), await h.runnerOf(b)];
    assert.notEqual(pa, pb);
    await h.waitForEvents(a, 'rotation', { count: 3 });
    await h.waitForEvents(b, 'rotation', { count: 3 });
    await h.within(vscode.commands.executeCommand('layerRotation.stopTraining', a), 15000, 'stopTraining a');
    checkFinished(a, 'stopped');
    // b goes on while a is stopped.
    const before = h.readLog(b, { complete: false }).filter((e) => e.type === 'rotation').length;
    await h.waitForEvents(b, 'rotation', { count: before + 2 });
    await h.within(vscode.commands.executeCommand('layerRotation.stopTraining', b), 15000, 'stopTraining b');
    checkFinished(b, 'stopped');
    await h.waitForNoRunner(a, 5000);
    await h.waitForNoRunner(b, 5000);
  },
};

exports.after = async () => {
  // Nothing of these runs may train on into the next suite.
  for (const runId of started) {
    for (const p of h.runnerProcesses(runId)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
};
