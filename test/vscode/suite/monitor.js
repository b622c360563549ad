// The monitor's host side in the real extension host: the chart settings of a fresh workspace are
// the defaults; a run's records export as CSV (one row per record, a column per layer) and its
// curves as SVG (a path per layer), through the internal command (a path instead of the save
// dialog), for the run shown or a given one. (That the settings a user picks in the webview are
// kept for the workspace: ui/monitor-settings.mjs.)

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const h = require('./lib/helpers');

exports.timeout = 45000;

const FIXTURE = path.join(h.FIXTURES, 'run-logs', 'lagging-synthetic-run', 'events.jsonl');
const RUN_ID = 'monitor-export-run';
let out;
let events;

exports.before = async () => {
  await h.activate();
  events = fs
    .readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  for (const e of events) {
    if (e.type === 'run_started') {
      e.runId = RUN_ID;
      delete e.configFile;
    }
  }
  const dir = path.join(h.workspaceDir(), 'runs', RUN_ID);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-monitor-'));
};

exports.after = async () => {
  fs.rmSync(out, { recursive: true, force: true });
};

exports.tests = {
  "a fresh workspace's chart settings are the defaults": async () => {
    const s = await vscode.commands.executeCommand('layerRotation.monitorSettings');
    assert.deepEqual(s, {
      x: 'epoch',
      smoothing: 0,
      quantity: 'distance',
      y: { distance: 'fixed', rate: 'log', loss: 'fixed', accuracy: 'auto' },
    });
  },

  'the run shown exports as CSV: a header, then one row per rotation record, a column per layer': async () => {
    await h.waitFor(
      async () => {
        try {
          await vscode.commands.executeCommand('layerRotation.showRun', RUN_ID);
          return await vscode.commands.executeCommand('layerRotation.monitorExport', 'csv', path.join(out, 'run.csv'));
        } catch {
          return null;
        }
      },
      { timeout: 20000, what: 'the run to be known, shown and exported' },
    );
    const lines = fs.readFileSync(path.join(out, 'run.csv'), 'utf8').trimEnd().split('\r\n');
    const started = events.find((e) => e.type === 'run_started');
    const rotations = events.filter((e) => e.type === 'rotation');
    assert.deepEqual(lines[0].split(','), [
      'step',
      'epoch',
      'time_s',
      'learning_rate',
      'loss',
      'accuracy',
      'val_loss',
      'val_accuracy',
      ...started.layers.map((l) => l.name),
    ]);
    assert.equal(lines.length - 1, rotations.length);
    const last = lines[lines.length - 1].split(',');
    assert.deepEqual(last.slice(8).map(Number), rotations[rotations.length - 1].distances);
  },

  'a given run exports its curves as SVG: a path per layer, the target dashed': async () => {
    const file = path.join(out, 'curves.svg');
    const written = await vscode.commands.executeCommand('layerRotation.monitorExport', 'svg', file, RUN_ID);
    assert.equal(written, file);
    const svg = fs.readFileSync(file, 'utf8');
    const started = events.find((e) => e.type === 'run_started');
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/<path class="layer" /g)?.length, started.layers.length);
    assert.equal(svg.match(/class="target"/g)?.length, 1);
  },

  'an unknown kind or run is refused': async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('layerRotation.monitorExport', 'exe', path.join(out, 'x'))),
      /no such export/,
    );
    await assert.rejects(
      Promise.resolve(
        vscode.commands.executeCommand('layerRotation.monitorExport', 'csv', path.join(out, 'y.csv'), 'no-such-run'),
      ),
      /no run no-such-run/,
    );
  },
};
