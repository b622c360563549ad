// Faults, for real: the CLI killed while its runner builds a big model (both engines), a full
// disk (a 24 KB tmpfs), a run folder removed mid-run, a writer killed mid-line, runs folders that
// cannot be made (/proc, a read-only file system) and a config name of thousands of characters.
// Mounting needs root in a container that allows it: those tests skip, saying why, elsewhere.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readRunLog } from '../src/runlog/read';
import { MAX_RUN_NAME, makeRunId } from '../src/runlog/runfolder';
import { EventLogWriter } from '../src/runlog/writer';
import { stamp } from '../src/runlog/events';
import { startRun } from '../src/launch/supervisor';
import { CLI, ROOT, runCli, strictEvents, syntheticConfig, tempDir, writeConfig } from './helpers/runs';
import { PYTHON_DIR, pythonInterpreter, pytorchTestOptions, requireTorch } from './helpers/python';
import { alive, sleep } from './helpers/processes';

const RUNNER = path.join(ROOT, 'out', 'src', 'launch', 'runner.js');
const MINUTE = 60_000;
/** How long a runner may outlive its parent ("a few seconds"; the machine is shared and busy). */
const OUTLIVES_AT_MOST_MS = 8000;

function childrenOf(pid: number): number[] {
  const pids: number[] = [];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`))
      for (const c of fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
        if (c) pids.push(Number(c));
  } catch {
    // gone
  }
  return pids;
}

async function until<T>(what: string, ms: number, get: () => T | undefined): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** A tmpfs of `size` mounted on a new folder, or why not (not root, no permission). */
function mountTmpfs(size: string): { dir: string } | { skip: string } {
  const dir = path.join(tempDir('tmpfs'), 'mnt');
  fs.mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    return {
      skip: `cannot mount a tmpfs here (${(r.error?.message ?? r.stderr).trim()}): needs root and a container that allows mounting`,
    };
  mounted.push(dir);
  return { dir };
}
const mounted: string[] = [];
after(() => {
  for (const dir of mounted) spawnSync('umount', ['-l', dir]);
});

/** A config that `check` accepts whose model takes long to build (8000 x 8000 kernels: about 20 s here). */
function bigBuildConfig(engine: 'tfjs' | 'pytorch'): Record<string, any> {
  return {
    name: `big-build-${engine}`,
    seed: 1,
    engine,
    backend: 'cpu',
    dataset: { name: 'synthetic', samples: 64, testSamples: 16, inputShape: [8000], classes: 2 },
    model: { type: 'mlp', hidden: [8000, 8000] },
    optimizer: { type: 'sgd', learningRate: 0.01 },
    schedule: { epochs: 1, batchSize: 32 },
  };
}

describe('a runner never outlives its parent by more than a few seconds, even while it builds a big model', () => {
  for (const engine of ['tfjs', 'pytorch'] as const) {
    it(`${engine}: kill -9 of the CLI during the model build ends the runner, with a run_finished saying why`, {
      ...(engine === 'pytorch' ? pytorchTestOptions(3 * MINUTE) : { timeout: 3 * MINUTE }),
    }, async () => {
      if (engine === 'pytorch') requireTorch();
      const dir = tempDir(`orphan-${engine}`);
      const file = writeConfig(dir, 'big', bigBuildConfig(engine));
      assert.equal((await runCli(['check', file])).code, 0, 'check accepts the config');
      const runsDir = path.join(dir, 'runs');
      const args = [
        CLI,
        'train',
        file,
        '--out',
        runsDir,
        ...(engine === 'pytorch' ? ['--python', pythonInterpreter()] : []),
      ];
      const cli = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      cli.stderr.on('data', (d) => (stderr += d));
      let runner: number | undefined;
      try {
        // The run's log exists (the runner is up) and has no run_started yet: it is loading data or building the model.
        const log = await until(`the run's log (stderr: ${stderr})`, 2 * MINUTE, () => {
          const runs = fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [];
          const f = runs.length === 1 ? path.join(runsDir, runs[0], 'events.jsonl') : undefined;
          return f && fs.existsSync(f) ? f : undefined;
        });
        runner = await until('the runner process', 10_000, () => childrenOf(cli.pid!)[0]);
        await sleep(1500);
        assert.ok(!fs.readFileSync(log, 'utf8').includes('"run_started"'), 'killed before the model was built');
        cli.kill('SIGKILL');
        const killedAt = Date.now();
        while (alive(runner) && Date.now() - killedAt < OUTLIVES_AT_MOST_MS) await sleep(100);
        assert.ok(
          !alive(runner),
          `the runner (pid ${runner}) still runs ${OUTLIVES_AT_MOST_MS} ms after its parent died`,
        );
        const events = strictEvents(path.dirname(log));
        const fin = events[events.length - 1];
        assert.equal(fin.type, 'run_finished');
        assert.equal(fin.status, 'stopped');
        assert.match(fin.reason, /the process that started the run went away/);
        assert.equal(events.filter((e) => e.type === 'run_finished').length, 1);
      } finally {
        cli.kill('SIGKILL');
        if (runner !== undefined && alive(runner)) process.kill(runner, 'SIGKILL');
      }
    });
  }
});

/** A synthetic config whose log outgrows 24 KB within a few epochs. */
function chattyConfig(engine: 'tfjs' | 'pytorch'): Record<string, any> {
  return syntheticConfig({
    name: `chatty-${engine}`,
    engine,
    dataset: { name: 'synthetic', samples: 512, testSamples: 64, inputShape: [8], classes: 3, validationSplit: 0.1 },
    model: { type: 'mlp', hidden: [16, 16, 16] },
    schedule: { epochs: 40, batchSize: 32 },
  });
}

describe('a full disk (the runs folder on a 24 KB tmpfs)', () => {
  for (const engine of ['tfjs', 'pytorch'] as const) {
    it(`${engine}: the CLI ends the run as failed, saying the disk is full, without a stack or a half line`, {
      ...(engine === 'pytorch' ? pytorchTestOptions(3 * MINUTE) : { timeout: 3 * MINUTE }),
    }, async (t) => {
      const mount = mountTmpfs('24k');
      if ('skip' in mount) return t.skip(mount.skip);
      if (engine === 'pytorch') requireTorch();
      const file = writeConfig(tempDir(`full-${engine}`), 'chatty', chattyConfig(engine));
      const runsDir = path.join(mount.dir, 'runs');
      const python = engine === 'pytorch' ? ['--python', pythonInterpreter()] : [];
      const r = await runCli(['train', file, '--out', runsDir, ...python], { timeoutMs: 2 * MINUTE });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /training failed: .*no space left on the device \(ENOSPC\)/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      const runDir = path.join(runsDir, fs.readdirSync(runsDir)[0]);
      // Every line of the log is whole (strictEvents throws on a half line).
      const events = strictEvents(runDir);
      assert.ok(events.some((e) => e.type === 'run_started'));
      assert.match(r.stdout, /run failed: .*ENOSPC/);
    });
  }

  it("in the editor's path (the supervisor): done resolves with the reason, and Stop does not hang", {
    timeout: 3 * MINUTE,
  }, async (t) => {
    const mount = mountTmpfs('24k');
    if ('skip' in mount) return t.skip(mount.skip);
    const file = writeConfig(tempDir('full-editor'), 'chatty', chattyConfig('tfjs'));
    const events: string[] = [];
    const handle = startRun({
      engine: 'tfjs',
      configFile: file,
      runsDir: path.join(mount.dir, 'runs'),
      name: 'chatty',
      runnerScript: RUNNER,
      onEvent: (e) => events.push(e.type),
    });
    const fin = await Promise.race([handle.done, sleep(2 * MINUTE).then(() => undefined)]);
    assert.ok(fin, "the run's done never resolved");
    assert.equal(fin.status, 'failed');
    assert.match(fin.reason, /cannot write the run log .*events\.jsonl: no space left on the device \(ENOSPC\)/);
    assert.equal(events[events.length - 1], 'run_finished', 'the editor heard how the run ended');
    const stopped = await Promise.race([handle.stop(1000), sleep(5000).then(() => undefined)]);
    assert.ok(stopped, 'Stop after the end resolves at once');
    strictEvents(handle.runDir);
  });
});

describe('a run folder removed during the run', () => {
  it('ends the run as failed, saying its log was removed; done resolves', { timeout: 2 * MINUTE }, async () => {
    const dir = tempDir('removed');
    const file = writeConfig(dir, 'long', syntheticConfig({ schedule: { epochs: 500, batchSize: 32 } }));
    let rotations = 0;
    const output: string[] = [];
    const handle = startRun({
      engine: 'tfjs',
      configFile: file,
      runsDir: path.join(dir, 'runs'),
      name: 'long',
      runnerScript: RUNNER,
      onEvent: (e) => {
        if (e.type === 'rotation' && ++rotations === 5) fs.rmSync(handle.runDir, { recursive: true, force: true });
      },
      onOutput: (text) => output.push(text),
    });
    const fin = await Promise.race([handle.done, sleep(MINUTE).then(() => undefined)]);
    assert.ok(fin, "the run's done never resolved");
    assert.equal(fin.status, 'failed');
    assert.match(fin.reason, /cannot write the run log .*events\.jsonl: it was removed/);
    assert.ok(!fs.existsSync(handle.runDir), 'the folder is not made again');
    assert.doesNotMatch(output.join(''), /\n\s+at /, 'no stack trace');
  });
});

describe('a writer killed mid-line', () => {
  const ROW = (i: number) => stamp({ type: 'log', level: 'info', message: `${i} ${'x'.repeat(2_000_000)}` });

  it('the next writer starts on a new line: the half line is skipped and named, the new line reads', () => {
    const file = path.join(tempDir('halfline'), 'events.jsonl');
    const w = new EventLogWriter(file);
    w.write(ROW(1));
    w.close();
    fs.appendFileSync(file, '{"v":1,"time":1,"type":"log","level":"info","mess'); // what a killed writer leaves
    const fin = stamp({
      type: 'run_finished',
      status: 'failed',
      reason: 'the runner was killed by SIGKILL',
      step: 0,
      epoch: 0,
      finalDistances: [],
      testLoss: null,
      testAccuracy: null,
      lagging: [],
      seconds: 0,
    });
    const w2 = new EventLogWriter(file);
    w2.write(fin);
    w2.close();
    const log = readRunLog(file);
    assert.equal(log.finished?.reason, 'the runner was killed by SIGKILL');
    assert.equal(log.skipped.length, 1);
    assert.equal(log.skipped[0].line, 2);
  });

  it('a real process killed mid-line (8 MB lines) leaves a log whose end another writer still writes readably', async (t) => {
    const dir = tempDir('killwrite');
    // Kill a writer until a kill lands inside a line (the file then ends without a line break).
    for (let attempt = 1; attempt <= 20; attempt++) {
      const file = path.join(dir, `events-${attempt}.jsonl`);
      const script = `
        const { EventLogWriter } = require(${JSON.stringify(path.join(ROOT, 'out', 'src', 'runlog', 'writer.js'))});
        const { stamp } = require(${JSON.stringify(path.join(ROOT, 'out', 'src', 'runlog', 'events.js'))});
        const w = new EventLogWriter(${JSON.stringify(file)});
        const big = 'x'.repeat(8000000);
        process.send('ready');
        for (let i = 0; ; i++) w.write(stamp({ type: 'log', level: 'info', message: i + ' ' + big }));`;
      const child: ChildProcess = spawn(process.execPath, ['-e', script], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      await new Promise((resolve) => child.once('message', resolve));
      await sleep(100 + 37 * attempt);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const text = fs.readFileSync(file, 'latin1');
      // Landed before the first write (a loaded machine) or between two lines: again.
      if (text.length === 0 || text.endsWith('\n')) continue;
      const w = new EventLogWriter(file);
      w.write(stamp({ type: 'log', level: 'warning', message: 'after the kill' }));
      w.close();
      const log = readRunLog(file);
      assert.equal(log.logs[log.logs.length - 1]?.message, 'after the kill');
      assert.equal(log.skipped.length, 1, 'the half line is skipped, and only it');
      return;
    }
    t.skip('no kill landed inside a line in 20 tries');
  });
});

describe('runs folders that cannot be made', () => {
  it('train --out /proc/x fails at once, naming the folder and why', { timeout: MINUTE }, async () => {
    const file = writeConfig(tempDir('proc'), 'small', syntheticConfig());
    const t0 = Date.now();
    const r = await runCli(['train', file, '--out', '/proc/x/runs'], { timeoutMs: 20_000 });
    assert.ok(Date.now() - t0 < 20_000);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr.trim(),
      'layer-rotation: cannot create the runs folder /proc/x/runs: /proc does not accept new folders (ENOENT)',
    );
  });

  it('sweep --out /proc/x fails at once too', { timeout: MINUTE }, async () => {
    const file = writeConfig(tempDir('proc-sweep'), 'small', {
      ...syntheticConfig(),
      sweep: { 'optimizer.learningRate': [0.1, 0.2] },
    });
    const t0 = Date.now();
    const r = await runCli(['sweep', file, '--out', '/proc/x/runs'], { timeoutMs: 20_000 });
    assert.ok(Date.now() - t0 < 20_000);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr.trim(),
      'layer-rotation: cannot create the sweep folder /proc/x/runs/synthetic-test-sweep: /proc does not accept new folders (ENOENT)',
    );
  });

  it('a read-only file system is named as such, not as a missing folder', { timeout: MINUTE }, async (t) => {
    const mount = mountTmpfs('64k');
    if ('skip' in mount) return t.skip(mount.skip);
    const ro = spawnSync('mount', ['-o', 'remount,ro', mount.dir], { encoding: 'utf8' });
    if (ro.status !== 0) return t.skip(`cannot remount the tmpfs read-only: ${ro.stderr.trim()}`);
    const file = writeConfig(tempDir('rofs'), 'small', syntheticConfig());
    const r = await runCli(['train', file, '--out', path.join(mount.dir, 'a', 'runs')], { timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr.trim(),
      `layer-rotation: cannot create the runs folder ${path.join(mount.dir, 'a', 'runs')}: the file system is read-only (EROFS)`,
    );
  });

  it('a config name of 3,000 characters trains, into a run id whose name part is capped (both engines alike)', {
    timeout: 2 * MINUTE,
  }, async () => {
    const dir = tempDir('longname');
    const name = `${'long-name-'.repeat(300)}`;
    const file = writeConfig(dir, 'long', syntheticConfig({ name, schedule: { epochs: 1, batchSize: 32 } }));
    const runsDir = path.join(dir, 'runs');
    const r = await runCli(['train', file, '--out', runsDir]);
    assert.equal(r.code, 0, r.stderr);
    const [runId] = fs.readdirSync(runsDir);
    assert.match(runId, /^(long-name-){6}long\.?-\d{8}-\d{6}$/);
    assert.ok(runId.length <= MAX_RUN_NAME + 16);
    assert.ok(
      strictEvents(path.join(runsDir, runId)).some((e) => e.type === 'run_finished' && e.status === 'completed'),
    );
    // The PyTorch engine makes its own ids (its own CLI, RotationLogger) by the same rule.
    const at = new Date(2024, 4, 3, 14, 5, 6);
    for (const n of [name, `  ${'ü'.repeat(70)}x`, '---', `${'a'.repeat(63)}-b`]) {
      const py = spawnSync(
        pythonInterpreter(),
        [
          '-c',
          'import sys; from layer_rotation.events import make_run_id; print(make_run_id(sys.argv[1], float(sys.argv[2])))',
          n,
          String(at.getTime() / 1000),
        ],
        { encoding: 'utf8', env: { ...process.env, PYTHONPATH: PYTHON_DIR } },
      );
      assert.equal(py.status, 0, py.stderr);
      assert.equal(py.stdout.trim(), makeRunId(n, at));
    }
  });
});
