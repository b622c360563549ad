// TensorBoard export (src/runlog/tensorboard.ts, `layer-rotation export --tensorboard`): a real tfjs
// run's log becomes a tfevents file whose scalars are the log's distances, loss and accuracy; the
// Python writer (python/layer_rotation/tensorboard.py) makes the same bytes from the same log; and
// TensorBoard's own reader (EventAccumulator, when the test's Python has the tensorboard package)
// reads the scalars and the custom-scalars layout back.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readRunLog } from '../src/runlog/read';
import { crc32c, exactPattern, layerTags, maskedCrc32c, tfRecord } from '../src/runlog/tensorboard';
import { fixtureEvents, jsonl, writeLog } from './helpers/logs';
import { pythonEnv, pythonInterpreter, pytorchTestOptions, requireTorch, runPython } from './helpers/python';
import { CLI, onlyRun, runCli, syntheticConfig, tempDir, writeConfig } from './helpers/runs';

// ---- an independent reader of what the export wrote: records, then protobuf fields ----

interface Field {
  no: number;
  wire: number;
  int?: number;
  bytes?: Buffer;
  f64?: number;
  f32?: number;
}

function varint(b: Buffer, at: number): [number, number] {
  let n = 0;
  let scale = 1;
  for (;;) {
    const byte = b[at++];
    n += (byte & 127) * scale;
    scale *= 128;
    if (byte < 128) return [n, at];
  }
}

function fields(b: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < b.length) {
    let key: number;
    [key, at] = varint(b, at);
    const f: Field = { no: Math.floor(key / 8), wire: key % 8 };
    if (f.wire === 0) [f.int, at] = varint(b, at);
    else if (f.wire === 1) {
      f.f64 = b.readDoubleLE(at);
      at += 8;
    } else if (f.wire === 5) {
      f.f32 = b.readFloatLE(at);
      at += 4;
    } else if (f.wire === 2) {
      let len: number;
      [len, at] = varint(b, at);
      f.bytes = b.subarray(at, at + len);
      at += len;
    } else throw new Error(`wire type ${f.wire}`);
    out.push(f);
  }
  return out;
}

/** The records of a tfevents file, each checked (length and CRCs, computed here bit by bit). */
function records(file: string): Buffer[] {
  const b = fs.readFileSync(file);
  const crc = (data: Buffer) => {
    let c = 0xffffffff;
    for (const byte of data) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    c = (c ^ 0xffffffff) >>> 0;
    return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
  };
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    const len = b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 2 ** 32;
    assert.equal(b.readUInt32LE(at + 8), crc(b.subarray(at, at + 8)), `length CRC of the record at ${at}`);
    const data = b.subarray(at + 12, at + 12 + len);
    assert.equal(b.readUInt32LE(at + 12 + len), crc(data), `data CRC of the record at ${at}`);
    out.push(data);
    at += 16 + len;
  }
  return out;
}

interface Decoded {
  fileVersion?: string;
  /** tag -> [step, value, wall time][] */
  scalars: Map<string, [number, number, number][]>;
  layout?: Buffer;
}

function decode(file: string): Decoded {
  const d: Decoded = { scalars: new Map() };
  for (const r of records(file)) {
    const ev = fields(r);
    const wall = ev.find((f) => f.no === 1)?.f64 ?? NaN;
    const step = ev.find((f) => f.no === 2)?.int ?? 0;
    const version = ev.find((f) => f.no === 3);
    if (version) d.fileVersion = version.bytes!.toString();
    const summary = ev.find((f) => f.no === 5);
    if (!summary) continue;
    for (const v of fields(summary.bytes!).filter((f) => f.no === 1)) {
      const vf = fields(v.bytes!);
      const tag = vf.find((f) => f.no === 1)!.bytes!.toString();
      const simple = vf.find((f) => f.no === 2);
      if (simple) {
        if (!d.scalars.has(tag)) d.scalars.set(tag, []);
        d.scalars.get(tag)!.push([step, simple.f32!, wall]);
      } else if (tag === 'custom_scalars__config__') {
        const plugin = fields(fields(vf.find((f) => f.no === 9)!.bytes!)[0].bytes!)[0].bytes!.toString();
        assert.equal(plugin, 'custom_scalars');
        const tensor = fields(vf.find((f) => f.no === 8)!.bytes!);
        assert.equal(tensor.find((f) => f.no === 1)?.int, 7, 'a DT_STRING tensor');
        d.layout = tensor.find((f) => f.no === 8)!.bytes!;
      }
    }
  }
  return d;
}

/** The custom-scalars layout: [category title, [chart title, tag patterns][]][]. */
function layoutOf(layout: Buffer): [string, [string, string[]][]][] {
  return fields(layout)
    .filter((f) => f.no === 2)
    .map((c) => {
      const cf = fields(c.bytes!);
      const charts = cf
        .filter((f) => f.no === 2)
        .map((ch): [string, string[]] => {
          const chf = fields(ch.bytes!);
          const tags = fields(chf.find((f) => f.no === 2)!.bytes!).map((t) => t.bytes!.toString());
          return [chf.find((f) => f.no === 1)!.bytes!.toString(), tags];
        });
      return [cf.find((f) => f.no === 1)!.bytes!.toString(), charts];
    });
}

function eventFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.includes('tfevents'))
    .map((f) => path.join(dir, f));
}

/** Why TensorBoard's reader cannot be used here, or undefined. */
function tensorboardProblem(): string | undefined {
  const python = pythonInterpreter();
  const r = spawnSync(python, ['-c', 'import tensorboard'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `cannot run ${python}: ${r.error.message}`;
  if (r.status !== 0)
    return `${python} has no tensorboard package (set LAYER_ROTATION_PYTHON to an interpreter with it): ${r.stderr.trim().split('\n').pop()}`;
  return undefined;
}

/** Python's writer replaying a run log into `outDir` (layer_rotation.tensorboard.export_run_log); the file written. */
function pythonExport(eventsFile: string, outDir: string): string {
  const r = spawnSync(
    pythonInterpreter(),
    [
      '-c',
      'import sys; from layer_rotation.tensorboard import export_run_log; print(export_run_log(sys.argv[1], sys.argv[2]))',
      eventsFile,
      outDir,
    ],
    { encoding: 'utf8', env: pythonEnv(), timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('crc32c and the TFRecord framing', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720's 32 zero bytes
  const data = Buffer.from('hello');
  const r = tfRecord(data);
  assert.equal(r.length, 5 + 16);
  assert.equal(r.readUInt32LE(0), 5);
  assert.equal(r.readUInt32LE(4), 0);
  assert.equal(r.readUInt32LE(8), maskedCrc32c(r.subarray(0, 8)));
  assert.deepEqual(r.subarray(12, 17), data);
  assert.equal(r.readUInt32LE(17), maskedCrc32c(data));
});

test('layer tags stay unique and their patterns match only themselves', () => {
  const tags = layerTags(['a', 'b.c', 'a', 'a']);
  assert.deepEqual(tags, ['layer_rotation/a', 'layer_rotation/b.c', 'layer_rotation/a (3)', 'layer_rotation/a (4)']);
  const p = new RegExp(exactPattern('layer_rotation/b.c (2) [x]*'));
  assert.ok(p.test('layer_rotation/b.c (2) [x]*'));
  assert.ok(!p.test('layer_rotation/bxc (2) [x]*'));
  assert.ok(!p.test('layer_rotation/b.c (2) [x]*tail'));
});

test('a real tfjs run exported: every rotation record of every layer, the losses and accuracies, the layout; Python writes the same bytes', async () => {
  const dir = tempDir('tb');
  const config = writeConfig(dir, 'tb', syntheticConfig({ name: 'tb', schedule: { epochs: 2, batchSize: 64 } }));
  const trained = await runCli(['train', config, '--out', path.join(dir, 'runs')]);
  assert.equal(trained.code, 0, trained.stderr);
  const runDir = onlyRun(path.join(dir, 'runs'));
  const log = readRunLog(path.join(runDir, 'events.jsonl'));
  assert.equal(log.skipped.length, 0);

  const r = await runCli(['export', '--tensorboard', runDir, '--out', path.join(dir, 'tb')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const outDir = path.join(dir, 'tb', path.basename(runDir));
  const [file] = eventFiles(outDir);
  assert.ok(file, `no event file in ${outDir}`);
  assert.match(
    r.stdout,
    new RegExp(`${path.basename(file).replace(/\./g, '\\.')} \\(3 layers, ${log.rotations.length} rotation records\\)`),
  );

  const d = decode(file);
  assert.equal(d.fileVersion, 'brain.Event:2');
  const names = log.started!.layers.map((l) => l.name);
  names.forEach((name, i) => {
    const got = d.scalars.get(`layer_rotation/${name}`);
    assert.ok(got, `no tag for layer ${name}`);
    assert.deepEqual(
      got.map(([step, v]) => [step, v]),
      log.rotations.map((rec) => [rec.step, Math.fround(rec.distances[i]!)]),
    );
    assert.deepEqual(
      got.map(([, , wall]) => wall),
      log.rotations.map((rec) => rec.time! / 1000),
    );
  });
  const epochLoss = d.scalars.get('loss/train')!;
  assert.deepEqual(
    epochLoss.map(([step, v]) => [step, v]),
    log.epochs.map((e) => [e.step, Math.fround(e.loss!)]),
  );
  assert.equal(d.scalars.get('accuracy/validation')!.length, 2);
  assert.equal(d.scalars.get('accuracy/test')![0][1], Math.fround(log.finished!.testAccuracy!));
  assert.equal(d.scalars.get('loss/batch')!.length, log.batches.length);
  const [[category, charts]] = layoutOf(d.layout!);
  assert.equal(category, 'Layer rotation');
  assert.deepEqual(
    charts[0][1],
    names.map((n) => `^layer_rotation/${n}$`),
  );
  assert.deepEqual(
    charts.slice(1).map(([title]) => title),
    ['loss', 'accuracy'],
  );

  // Exporting again replaces the file; the default LOGDIR is the run folder itself.
  assert.equal((await runCli(['export', '--tensorboard', runDir, '--out', path.join(dir, 'tb')])).code, 0);
  assert.deepEqual(eventFiles(outDir), [file]);
  assert.equal((await runCli(['export', '--tensorboard', runDir])).code, 0);
  assert.deepEqual(fs.readFileSync(eventFiles(runDir)[0]), fs.readFileSync(file));

  // The Python writer, fed the same log, writes the same bytes.
  const py = pythonExport(path.join(runDir, 'events.jsonl'), path.join(dir, 'py'));
  assert.equal(path.basename(py), path.basename(file));
  assert.deepEqual(fs.readFileSync(py), fs.readFileSync(file));
});

test("the PyTorch logger's live file equals the Node export of its run log", pytorchTestOptions(300_000), async () => {
  requireTorch();
  const dir = tempDir('tb-torch');
  const script = `
import sys, torch
from layer_rotation import RotationLogger
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 3, (32,))
with RotationLogger(model, sys.argv[1] + "/run-1", every=2, epochs=2, steps_per_epoch=5, tensorboard=sys.argv[1] + "/tb") as logger:
    for epoch in range(2):
        for _ in range(5):
            opt.zero_grad(); loss = torch.nn.functional.cross_entropy(model(x), y); loss.backward(); opt.step()
            logger.step(loss=loss, accuracy=0.5, lr=0.01)
        logger.epoch_end(loss=loss.item(), accuracy=0.5, val_loss=1.2, val_accuracy=0.3)
    logger.finish(test_loss=1.0, test_accuracy=0.4)
`;
  const r = await runPython(['-c', script, dir], { timeoutMs: 240_000 });
  assert.equal(r.code, 0, r.stderr);
  const runDir = path.join(dir, 'run-1');
  assert.equal(readRunLog(path.join(runDir, 'events.jsonl')).skipped.length, 0);
  const [live] = eventFiles(path.join(dir, 'tb', 'run-1'));
  const exported = await runCli(['export', '--tensorboard', runDir, '--out', path.join(dir, 'node')]);
  assert.equal(exported.code, 0, exported.stderr);
  const [file] = eventFiles(path.join(dir, 'node', 'run-1'));
  assert.equal(path.basename(file), path.basename(live));
  assert.deepEqual(fs.readFileSync(file), fs.readFileSync(live));
  assert.deepEqual(
    [...decode(file).scalars.keys()].filter((t) => t.startsWith('layer_rotation/')),
    ['layer_rotation/0', 'layer_rotation/3'],
  );
});

test('a log with odd values: both writers leave out what readers do not know, and agree byte for byte', () => {
  const dir = tempDir('tb-odd');
  const events = fixtureEvents();
  const started = events[0];
  started.layers[0].name = ''; // read as "layer 1"
  started.layers[1].name = 'dense(2).kernel[0]*'; // regex characters
  started.layers[2].name = 'dense(2).kernel[0]*'; // a repeated name
  const rot = events.find((e) => e.type === 'rotation' && e.step > 0);
  rot.distances = [2 + 1e-7, null, 2.5]; // clamped to 2, unknown, out of its domain
  const rotTime = rot.time;
  delete rot.time; // the time of the event before it
  // A batch whose loss is negative and accuracy above 1: both unknown; its learning rate kept.
  const batch = {
    v: 1,
    time: rotTime + 1,
    type: 'batch',
    step: rot.step,
    epoch: rot.epoch,
    loss: -1,
    accuracy: 1.5,
    learningRate: 0.1,
  };
  events.splice(events.indexOf(rot) + 1, 0, batch);
  const epochEnd = events.find((e) => e.type === 'epoch_end');
  delete epochEnd.step; // the last step seen
  const lines = jsonl(events).split('\n');
  lines.splice(
    3,
    0,
    '{"v":1,"type":"rotation","step":NaN}',
    'not json',
    '{"v":1,"type":"rotation","step":-1,"epoch":0,"distances":[0.5,0.5,0.5]}',
  );
  const runDir = writeLog(path.join(dir, 'odd'), lines.join('\n'));

  const out = path.join(dir, 'ts');
  const ts = spawnSync(process.execPath, [CLI, 'export', '--tensorboard', runDir, '--out', out], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  assert.match(ts.stderr, /events\.jsonl:4: skipped: not valid JSON/);
  assert.match(ts.stderr, /events\.jsonl:6: skipped: rotation event with a negative "step" or "epoch"/);
  const [file] = eventFiles(path.join(out, 'odd'));
  const d = decode(file);
  assert.deepEqual(
    [...d.scalars.keys()].filter((t) => t.startsWith('layer_rotation/')),
    ['layer_rotation/layer 1', 'layer_rotation/dense(2).kernel[0]*', 'layer_rotation/dense(2).kernel[0]* (3)'],
  );
  const at = (tag: string) => d.scalars.get(tag)!.find(([step]) => step === rot.step);
  assert.equal(at('layer_rotation/layer 1')![1], 2);
  assert.equal(at('layer_rotation/dense(2).kernel[0]*'), undefined);
  assert.equal(at('layer_rotation/dense(2).kernel[0]* (3)'), undefined);
  const before = events.filter((e) => e.time !== undefined && events.indexOf(e) < events.indexOf(rot)).pop();
  assert.equal(at('layer_rotation/layer 1')![2], before.time / 1000);
  assert.equal(
    d.scalars.get('loss/batch')?.find(([step]) => step === batch.step),
    undefined,
  );
  assert.equal(
    d.scalars.get('accuracy/batch')?.find(([step]) => step === batch.step),
    undefined,
  );
  assert.deepEqual(d.scalars.get('learning_rate'), [[batch.step, Math.fround(0.1), batch.time / 1000]]);
  const lastStepBefore = events
    .slice(0, events.indexOf(epochEnd))
    .filter((e) => typeof e.step === 'number')
    .pop().step;
  assert.equal(d.scalars.get('loss/train')![0][0], lastStepBefore);
  const [[, charts]] = layoutOf(d.layout!);
  const patterns = charts[0][1];
  assert.deepEqual(patterns, [
    '^layer_rotation/layer 1$',
    '^layer_rotation/dense\\(2\\)\\.kernel\\[0\\]\\*$',
    '^layer_rotation/dense\\(2\\)\\.kernel\\[0\\]\\* \\(3\\)$',
  ]);

  const py = pythonExport(path.join(runDir, 'events.jsonl'), path.join(dir, 'py'));
  assert.deepEqual(fs.readFileSync(py), fs.readFileSync(file));
});

test('export: bad input gets a clear message and leaves no file', async () => {
  const dir = tempDir('tb-bad');
  const none = await runCli(['export', '--tensorboard', path.join(dir, 'missing')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing: no run log there \(a run folder holds events\.jsonl\)/);

  const noStart = writeLog(path.join(dir, 'nostart'), jsonl(fixtureEvents().slice(1)));
  const r = await runCli(['export', '--tensorboard', noStart]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nostart\/events\.jsonl: the log has no run_started event/);
  assert.deepEqual(fs.readdirSync(noStart), ['events.jsonl']);

  const run = writeLog(path.join(dir, 'run'), jsonl(fixtureEvents()));
  fs.writeFileSync(path.join(dir, 'afile'), 'x');
  const blocked = await runCli(['export', '--tensorboard', run, '--out', path.join(dir, 'afile')]);
  assert.equal(blocked.code, 1);
  assert.match(
    blocked.stderr,
    /cannot write the TensorBoard event file in .*afile\/run: a part of the path is not a folder \(ENOTDIR\)/,
  );

  const usage = await runCli(['export', run]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /export takes --tensorboard RUN_DIR/);
});

test("TensorBoard's own reader: the scalars and the custom-scalars layout of an export", {
  skip: tensorboardProblem(),
}, () => {
  const dir = tempDir('tb-reader');
  const events = fixtureEvents();
  const runDir = writeLog(path.join(dir, 'run'), jsonl(events));
  const out = path.join(dir, 'tb');
  const ts = spawnSync(process.execPath, [CLI, 'export', '--tensorboard', runDir, '--out', out], { encoding: 'utf8' });
  assert.equal(ts.status, 0, ts.stderr);
  const script = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
ea = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "tensors": 0})
ea.Reload()
scalars = {t: [[s.step, s.value, s.wall_time] for s in ea.Scalars(t)] for t in ea.Tags()["scalars"]}
layout = layout_pb2.Layout()
layout.ParseFromString(ea.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0])
charts = [[c.title, list(c.multiline.tag)] for cat in layout.category for c in cat.chart]
print(json.dumps({"scalars": scalars, "titles": [c.title for c in layout.category], "charts": charts}))
`;
  const r = spawnSync(pythonInterpreter(), ['-c', script, path.join(out, 'run')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const log = readRunLog(path.join(runDir, 'events.jsonl'));
  log.started!.layers.forEach((l, i) =>
    assert.deepEqual(
      got.scalars[`layer_rotation/${l.name}`],
      log.rotations.map((rec) => [rec.step, Math.fround(rec.distances[i]!), rec.time! / 1000]),
    ),
  );
  assert.deepEqual(
    got.scalars['loss/train'].map((s: number[]) => s.slice(0, 2)),
    log.epochs.map((e) => [e.step, Math.fround(e.loss!)]),
  );
  assert.deepEqual(got.titles, ['Layer rotation']);
  assert.deepEqual(got.charts, [
    ['cosine distance to the initial weights, per layer', log.started!.layers.map((l) => `^layer_rotation/${l.name}$`)],
    ['loss', ['^loss/']],
    ['accuracy', ['^accuracy/']],
  ]);
});
