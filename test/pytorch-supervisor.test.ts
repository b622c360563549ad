// The supervisor with the pytorch engine (what Start Training and `layer-rotation train --engine
// pytorch` use): events are relayed as the engine writes them, not at the end; Stop ends a run
// cleanly, one process or torchrun's several, and leaves no process behind; a missing
// interpreter and a killed engine still end the run with a run_finished line saying why.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'node:test';
import { loadConfigFile } from '../src/engine/config/validate';
import type { RunEvent } from '../src/runlog/events';
import { STOP_FILE } from '../src/launch/pytorch';
import type { PytorchRequest } from '../src/launch/request';
import { type RunHandle, startRun } from '../src/launch/supervisor';
import { PYTHON_DIR, pythonInterpreter, pytorchTestOptions, requireTorch } from './helpers/python';
import { onlyRun, runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

function start(
  configOverrides: Record<string, any>,
  py: Partial<PytorchRequest> = {},
  extra: { maxSteps?: number } = {},
) {
  const dir = tempDir('torch-supervisor');
  const configFile = writeConfig(
    dir,
    'torch',
    syntheticConfig({ engine: 'pytorch', backend: undefined, ...configOverrides }),
  );
  const checked = loadConfigFile(configFile);
  assert.ok(checked.ok, JSON.stringify(checked.errors));
  const events: { e: RunEvent; at: number }[] = [];
  let output = '';
  const handle: RunHandle = startRun({
    configFile,
    runsDir: path.join(dir, 'runs'),
    name: checked.config.name,
    maxSteps: extra.maxSteps,
    engine: 'pytorch',
    python: pythonInterpreter(),
    packageDir: PYTHON_DIR,
    processes: 1,
    device: 'cpu',
    config: checked.config,
    ...py,
    onEvent: (e) => events.push({ e, at: Date.now() }),
    onOutput: (text) => (output += text),
  });
  return { handle, events, output: () => output };
}

/** Live processes whose process group is `pgid` (Linux /proc). */
function groupMembers(pgid: number): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) found.push(Number(entry));
  }
  return found;
}

async function waitForEvent(events: { e: RunEvent }[], type: RunEvent['type'], timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!events.some((x) => x.e.type === type)) {
    if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'events of the pytorch engine are relayed as it writes them, in the order of its log',
  pytorchTestOptions(120000),
  async () => {
    requireTorch();
    const { handle, events, output } = start({ schedule: { epochs: 6, batchSize: 16 }, monitoring: { everySteps: 5 } });
    await waitForEvent(events, 'rotation');
    const firstRotation = events.find((x) => x.e.type === 'rotation')!.at;
    const finished = await handle.done;
    assert.equal(finished.status, 'completed', `${finished.reason}\n${output()}`);
    const last = events[events.length - 1];
    assert.equal(last.e.type, 'run_finished');
    assert.ok(last.at - firstRotation > 100, 'the events came all at once at the end, not as the engine wrote them');
    const logged = strictEvents(handle.runDir);
    assert.deepEqual(
      events.map((x) => x.e),
      logged,
      'the relayed events differ from the log',
    );
    assert.equal(logged[0].engine, 'pytorch');
    assert.ok(fs.existsSync(path.join(handle.runDir, 'resolved-config.json')));
    assert.ok(fs.existsSync(path.join(handle.runDir, 'summary.json')));
  },
);

test('Stop ends a pytorch run cleanly after its step, and no process is left', pytorchTestOptions(120000), async () => {
  requireTorch();
  const { handle, events, output } = start({ schedule: { epochs: 500, batchSize: 16 }, monitoring: { everySteps: 5 } });
  await waitForEvent(events, 'rotation');
  const finished = await handle.stop(15000);
  assert.equal(finished.status, 'stopped', `${finished.reason}\n${output()}`);
  assert.ok(fs.existsSync(path.join(handle.runDir, STOP_FILE)));
  const logged = strictEvents(handle.runDir);
  assert.equal(logged.filter((e) => e.type === 'run_finished').length, 1);
  assert.equal(JSON.parse(fs.readFileSync(path.join(handle.runDir, 'summary.json'), 'utf8')).status, 'stopped');
  assert.deepEqual(groupMembers(handle.pid!), []);
});

test(
  'torchrun with 2 processes: events from rank 0 only, Stop reaches every rank through the stop file',
  pytorchTestOptions(180000),
  async () => {
    requireTorch();
    const { handle, events, output } = start(
      { schedule: { epochs: 500, batchSize: 16 }, monitoring: { everySteps: 5 } },
      { processes: 2 },
    );
    await waitForEvent(events, 'rotation', 120000);
    const started = events.find((x) => x.e.type === 'run_started')!.e;
    assert.match((started as { backendDescription?: string }).backendDescription ?? '', /2 processes \(gloo\)/);
    const finished = await handle.stop(30000);
    assert.equal(finished.status, 'stopped', `${finished.reason}\n${output()}`);
    const logged = strictEvents(handle.runDir);
    assert.equal(logged.filter((e) => e.type === 'run_started').length, 1);
    assert.equal(logged.filter((e) => e.type === 'run_finished').length, 1);
    const steps = logged.filter((e) => e.type === 'rotation').map((e) => e.step);
    assert.deepEqual(
      steps,
      [...new Set(steps)].sort((a, b) => a - b),
      'a rotation step written twice or out of order',
    );
    // torchrun and both workers are gone.
    const deadline = Date.now() + 10000;
    while (groupMembers(handle.pid!).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(groupMembers(handle.pid!), []);
  },
);

test('an interpreter that does not exist ends the run as failed, saying so', async () => {
  const { handle } = start({}, { python: '/nonexistent/bin/python3' });
  const finished = await handle.done;
  assert.equal(finished.status, 'failed');
  assert.match(finished.reason, /the PyTorch engine \(\/nonexistent\/bin\/python3\) could not start: .*ENOENT/);
  const logged = strictEvents(handle.runDir);
  assert.equal(logged[logged.length - 1].type, 'run_finished');
});

test(
  'a pytorch engine killed from outside gets its run_finished failed line, after what it wrote',
  pytorchTestOptions(120000),
  async () => {
    requireTorch();
    const { handle, events } = start({ schedule: { epochs: 500, batchSize: 16 }, monitoring: { everySteps: 5 } });
    await waitForEvent(events, 'rotation');
    handle.kill();
    const finished = await handle.done;
    assert.equal(finished.status, 'failed');
    assert.match(finished.reason, /killed by SIGKILL/);
    const logged = strictEvents(handle.runDir);
    assert.equal(logged[0].type, 'run_started');
    assert.ok(logged.some((e) => e.type === 'rotation'));
    assert.equal(logged[logged.length - 1].type, 'run_finished');
    assert.ok(finished.finalDistances.length > 0, 'the last recorded distances are kept');
  },
);

test(
  'the CLI trains with --engine pytorch, and says what is missing without a Python',
  pytorchTestOptions(120000),
  async () => {
    requireTorch();
    const dir = tempDir('torch-cli');
    const configFile = writeConfig(
      dir,
      'cli',
      syntheticConfig({ backend: undefined, schedule: { epochs: 2, batchSize: 32 } }),
    );
    const r = await runCli([
      'train',
      configFile,
      '--engine',
      'pytorch',
      '--python',
      pythonInterpreter(),
      '--out',
      path.join(dir, 'runs'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const said = /^engine pytorch: Python 3\.\d+\.\d+ \(.*\), torch \d.*$/m.exec(r.stderr);
    assert.ok(said, r.stderr);
    const events = strictEvents(onlyRun(path.join(dir, 'runs')));
    assert.equal(events[0].engine, 'pytorch');
    // The same line is the run log's first log event, right after run_started.
    assert.deepEqual([events[1].type, events[1].level, events[1].message], ['log', 'info', said[0]]);
    assert.equal(events[events.length - 1].status, 'completed');
    assert.match(r.stdout, /test accuracy/i);

    const missing = await runCli([
      'train',
      configFile,
      '--engine',
      'pytorch',
      '--python',
      path.join(dir, 'no-python'),
      '--out',
      path.join(dir, 'runs2'),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /needs Python 3 with PyTorch, and no Python was found/);
    assert.ok(!fs.existsSync(path.join(dir, 'runs2')), 'a run folder was made without an engine to run it');
  },
);
