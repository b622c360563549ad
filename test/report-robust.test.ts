// Readers on any log (issue 11, cases 4 and 6): `layer-rotation report` (and check) on logs and
// configs made to break them, run as the real command on real files. Every input gets a bounded
// answer: a line the reader cannot use is skipped and named, a number outside its domain is
// missing, big logs are read as a stream with their records sampled (and the output says so), and
// no control character from a config or a log reaches the terminal, an SVG or a problem message.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { formatError, parseConfigText } from '../src/engine/config/validate';
import { MAX_RECORDS, MAX_SKIPPED_KEPT, parseRunLog, readRunLog } from '../src/runlog/read';
import { oneLine, terminalText } from '../src/runlog/sanitize';
import { controlIn, fixtureEvents, jsonl, writeLog } from './helpers/logs';
import { readExample, ROOT, runCli, tempDir, writeConfig } from './helpers/runs';
import { xmlProblem } from './helpers/xml';

const dir = tempDir('report-robust');
let n = 0;
/** A run folder holding `content` as its log. */
const folder = (content: string | Buffer) => writeLog(path.join(dir, `run${++n}`), content);

/** `layer-rotation report` on a folder: it must end by itself, without a stack trace. */
async function report(runDir: string, timeoutMs = 60_000) {
  const r = await runCli(['report', runDir], { timeoutMs });
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace:\n${r.stderr}`);
  return r;
}

/** The fixture run with `edit` applied to its events. */
function edited(edit: (events: any[]) => void): string {
  const events = fixtureEvents();
  edit(events);
  return jsonl(events);
}

/** The table's row of a layer. */
const row = (stdout: string, name: string) => stdout.split('\n').find((l) => l.startsWith(`${name} `));

describe('case 4: report on logs the reader accepts, whatever their fields hold', () => {
  it('layers: null: the line is skipped and named, and report says the layers are unknown', async () => {
    const r = await report(folder(edited((e) => (e[0].layers = null))));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /events\.jsonl:1: skipped: run_started without "layers"/);
    assert.match(r.stderr, /the log has no run_started event, so its layers are unknown/);
  });

  it('layers that are not objects, a layer without params, a numeric name: listed with their defaults', async () => {
    const r = await report(
      folder(
        edited((e) => {
          e[0].layers = [7, { kind: 'dense', shape: [16, 16] }, { name: 42, kind: 'dense', params: 68 }];
        }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(row(r.stdout, 'layer 1') ?? '', /^layer 1 +\? +n\/a +0\.183 +LAGGING$/);
    assert.match(row(r.stdout, 'layer 2') ?? '', /^layer 2 +dense +n\/a +0\.073 +LAGGING$/);
    assert.match(row(r.stdout, 'layer 3') ?? '', /^layer 3 +dense +68 +0\.124 +LAGGING$/);
  });

  it('a string testLoss, "NaN" and "Infinity" as strings: missing (n/a), not a crash', async () => {
    const r = await report(
      folder(
        edited((e) => {
          const fin = e[e.length - 1];
          fin.testLoss = '0.6';
          fin.trainLoss = 'NaN';
          fin.finalDistances = ['Infinity', 0.5, 'NaN'];
        }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^test accuracy: 76\.50% {2}\(test loss n\/a\)$/m);
    assert.match(row(r.stdout, 'dense1') ?? '', / n\/a +LAGGING$/);
  });

  it('numbers outside their domain are missing: an accuracy of 5, negative params, a distance of -3 or 7', async () => {
    const r = await report(
      folder(
        edited((e) => {
          e[0].layers[0].params = -272;
          const fin = e[e.length - 1];
          fin.testAccuracy = 5;
          fin.finalDistances = [-3, 7, 0.5];
        }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /test accuracy/, 'an accuracy of 500% was printed');
    assert.match(row(r.stdout, 'dense1') ?? '', /^dense1 +dense +n\/a +n\/a +LAGGING$/);
    assert.match(row(r.stdout, 'dense2') ?? '', /^dense2 +dense +272 +n\/a +LAGGING$/);
    assert.match(row(r.stdout, 'output') ?? '', / 0\.500 +LAGGING$/);
  });

  it('an epoch of 1e999 (Infinity): those records are skipped and named, and report ends at once', async () => {
    const text = edited((e) => {
      for (const x of e) if (x.type === 'rotation' && x.step > 150) x.epoch = 'INF';
      e[e.length - 1].epoch = 'INF';
    }).replaceAll('"INF"', '1e999');
    const t = Date.now();
    const r = await report(folder(text), 20_000);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - t < 15_000);
    assert.match(r.stderr, /events\.jsonl:\d+: skipped: rotation event needs numeric "step", "epoch" and "distances"/);
    assert.match(r.stdout, /^run completed: trained 3 epochs$/m);
  });

  it('a value nested 100,000 deep where the type goes: the line is skipped and named, not a stack overflow', async () => {
    const events = fixtureEvents();
    const deep = `{"v":1,"type":${'['.repeat(100_000)}${']'.repeat(100_000)}}\n`;
    const r = await report(folder(`${jsonl(events.slice(0, 1))}${deep}${jsonl(events.slice(1))}`));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /events\.jsonl:2: skipped: unknown event type an array$/m);
    assert.match(r.stdout, /^run completed: trained 3 epochs$/m);
  });

  it('tick values stay bounded where the step is below the precision of the values', () => {
    // Run apart: an unbounded loop would never return to be timed.
    const script = `const { niceTicks } = require(${JSON.stringify(path.join(ROOT, 'out', 'src', 'runlog', 'svgText.js'))});
      const t = niceTicks(1e20, 1e20 + 16384, 5); process.stdout.write(String(t.length));`;
    const r = spawnSync(process.execPath, ['-e', script], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(r.signal, null, 'niceTicks did not return within 10 s');
    assert.ok(Number(r.stdout) >= 1 && Number(r.stdout) <= 13, r.stdout);
  });

  it('a 600 MB log is read as a stream: no string of the whole file, the lines after the big one read', async () => {
    const events = fixtureEvents();
    const head = Buffer.from(jsonl(events.slice(0, -1)));
    const tail = Buffer.from(`\n${jsonl(events.slice(-1))}`);
    const file = path.join(folder(head), 'events.jsonl');
    // A sparse file: 600 MB of zero bytes (one "line" with no '\n') that take no disk.
    const size = 600 * 1024 * 1024;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, tail, 0, tail.length, size);
    fs.closeSync(fd);
    assert.ok(fs.statSync(file).size > size);
    const r = await report(path.dirname(file), 120_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /events\.jsonl:\d+: skipped: line longer than \d+ bytes/);
    assert.match(r.stdout, /^run completed: trained 3 epochs$/m, 'the run_finished after the big line was not read');
  });

  it('300,000 rotation records: sampled as they are read (the first and the latest kept), and report says so', async () => {
    const events = fixtureEvents();
    const last = 300_000;
    const lines = [JSON.stringify(events[0])];
    for (let step = 0; step < last; step++)
      lines.push(
        `{"v":1,"type":"rotation","step":${step},"epoch":${step / 100000},"distances":[${step / last},0.5,0.9],"rotation":[0,0,0],"steps":1}`,
      );
    lines.push(JSON.stringify(events[events.length - 1]));
    const runDir = folder(`${lines.join('\n')}\n`);
    const log = readRunLog(path.join(runDir, 'events.jsonl'));
    assert.ok(log.rotations.length <= MAX_RECORDS + 1, `${log.rotations.length} records kept`);
    assert.ok(log.rotations.length >= MAX_RECORDS / 2);
    assert.equal(log.rotations[0].step, 0);
    assert.equal(log.rotations[log.rotations.length - 1].step, last - 1, 'the latest record was not kept');
    const r = await report(runDir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^note: the log has 300,000 rotation records; [\d,]+ of them \(evenly spaced, the latest included\) were kept for the verdict and the curves$/m,
    );
  });

  it('1,000,000 layers: no stack overflow; the table lists 500 and says how many more, curves.svg draws 256', async () => {
    const events = fixtureEvents();
    const layers = 1_000_000;
    const started = { ...events[0], layers: [] as unknown[], schedule: undefined };
    const names = Array.from({ length: layers }, (_, i) => `{"name":"l${i}","kind":"dense","params":2}`).join(',');
    const text =
      `${JSON.stringify(started).replace('"layers":[]', `"layers":[${names}]`)}\n` +
      `{"v":1,"type":"rotation","step":0,"epoch":0,"distances":[${'0,'.repeat(layers - 1)}0]}\n` +
      `${JSON.stringify({ ...events[events.length - 1], finalDistances: undefined, lagging: [] })}\n`;
    const runDir = folder(text);
    const r = await report(runDir, 180_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^l499 /m);
    assert.doesNotMatch(r.stdout, /^l500 /m);
    assert.match(r.stdout, /^\.\.\. 999,500 more layers not listed \(1,000,000 in all; 999,500 of them lagging\)$/m);
    const svg = fs.readFileSync(path.join(runDir, 'curves.svg'), 'utf8');
    assert.equal(svg.match(/<polyline class="layer"/g)?.length, 256);
    assert.match(svg, /256 of 1,000,000 layers drawn/);
  });

  it('a schedule of 300,000 decay epochs: the verdict without a stack overflow', async () => {
    const r = await report(
      folder(
        edited((e) => {
          e[0].schedule.decay = { factor: 0.5, epochs: Array.from({ length: 300_000 }, (_, i) => i + 1) };
        }),
      ),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^verdict: 3 lagging layers below 0\.8 \(target 1\)$/m);
  });

  it('many lines that are not events: the first 50 named, then how many more; the reader keeps a bounded list', async () => {
    const events = fixtureEvents();
    const garbage = Array.from({ length: 5000 }, (_, i) => `garbage ${i}`).join('\n');
    const runDir = folder(`${JSON.stringify(events[0])}\n${garbage}\n${jsonl(events.slice(1))}`);
    const log = readRunLog(path.join(runDir, 'events.jsonl'));
    assert.equal(log.skipped.length, MAX_SKIPPED_KEPT);
    assert.equal(log.skippedTotal, 5000);
    const r = await report(runDir);
    assert.equal(r.code, 0);
    const named = r.stderr.split('\n').filter((l) => /events\.jsonl:\d+: skipped: not valid JSON/.test(l));
    assert.equal(named.length, 50);
    assert.match(r.stderr, /events\.jsonl: 4,950 more lines skipped \(5,000 in all\)/);
  });

  it('a byte-order mark, CRLF line ends and invalid UTF-8: the events read, the rest named', () => {
    const events = fixtureEvents();
    const text = Buffer.concat([
      Buffer.from('\ufeff'),
      Buffer.from(jsonl(events.slice(0, 3)).replaceAll('\n', '\r\n')),
      Buffer.from([0xff, 0xfe, 0x7b, 0x0a]),
      Buffer.from(jsonl(events.slice(3))),
    ]);
    const log = readRunLog(path.join(folder(text), 'events.jsonl'));
    assert.equal(log.started?.name, 'lagging-synthetic');
    assert.equal(log.finished?.status, 'completed');
    assert.deepEqual(
      log.skipped.map((s) => s.line),
      [4],
    );
    assert.equal(parseRunLog(text.toString('utf8')).started?.name, 'lagging-synthetic');
  });
});

describe('case 6: text from configs and logs is sanitized before a terminal, an SVG or a problem', () => {
  const evil = 'x\u001b]0;pwned\u0007\u001b[2J\r\nsecond\u009b31m\u0000';

  it('check: ESC, OSC, CR, C1 and \\n in config values: one line per error, no control byte on stdout', async () => {
    const config = readExample('mnist-sgd.layerrot.json');
    config.dataset.name = `mn${evil}`;
    config.optimizer.type = `sgd${evil}`;
    config[`bogus${evil}`] = 1;
    const file = writeConfig(dir, 'evil', config);
    const r = await runCli(['check', file]);
    assert.equal(r.code, 2);
    assert.equal(controlIn(r.stdout), undefined, r.stdout);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 3, r.stdout);
    for (const l of lines) assert.ok(l.startsWith(`${file}:`), l);
    assert.ok(lines.some((l) => l.includes(String.raw`got 'mnx\e]0;pwned\x07\e[2J\r\nsecond\x9b31m\x00'`)));
    // The editor's messages are made by the same validator, and shown one line each (diagnostics.ts's problemText).
    const errors = parseConfigText(fs.readFileSync(file, 'utf8'), file).errors;
    assert.equal(errors.length, 3);
    for (const e of errors) assert.equal(controlIn(oneLine(e.message)), undefined);
    for (const e of errors) assert.equal(formatError(e).includes('\n'), false);
  });

  it('report: names, kinds and reasons with escape sequences: escaped, each on its line', async () => {
    const runDir = folder(
      edited((e) => {
        e[0].name = `run${evil}`;
        e[0].layers[0].name = `dense1${evil}`;
        e[0].layers[1].kind = `kind${evil}`;
        e[e.length - 1].reason = `done${evil}`;
        e.splice(1, 0, { v: 1, type: `t${evil}` });
      }),
    );
    const r = await report(runDir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(controlIn(r.stdout), undefined, r.stdout);
    assert.equal(controlIn(r.stderr), undefined, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^run.*\(lagging-synthetic-run\), backend wasm$/);
    assert.ok(lines.some((l) => /^dense1x\\e\]0;pwned.* dense +272 +0\.183 +LAGGING$/.test(l)));
    assert.ok(lines.some((l) => l === String.raw`run completed: donex\e]0;pwned\x07\e[2J\r\nsecond\x9b31m\x00`));
    assert.match(r.stderr, /^.*events\.jsonl:2: skipped: unknown event type .*$/m);
  });

  it('curves.svg and the comparison SVGs are well-formed XML with C0, U+FFFE, U+FFFF and lone surrogates in names', async () => {
    const bad = 'a\u0001b\u0008\u000b\u000c\u001f\ufffe\uffff\ud800c\udc00<&>"\'';
    const runDir = folder(
      edited((e) => {
        e[0].name = `run${bad}`;
        for (const l of e[0].layers) l.name = `${l.name}${bad}`;
        e[e.length - 1].reason = `done${bad}`;
      }),
    );
    const r = await report(runDir);
    assert.equal(r.code, 0, r.stderr);
    const svg = fs.readFileSync(path.join(runDir, 'curves.svg'), 'utf8');
    assert.equal(xmlProblem(svg), undefined);
    assert.match(svg, /data-layer="dense1a\\x01b\\x08/);
    const grid = path.join(dir, 'grid.svg');
    const scatter = path.join(dir, 'scatter.svg');
    const plain = folder(edited(() => {}));
    const c = await runCli(['compare', runDir, plain, '--svg', scatter, '--curves-svg', grid]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(controlIn(c.stdout), undefined, c.stdout);
    for (const f of [grid, scatter]) assert.equal(xmlProblem(fs.readFileSync(f, 'utf8')), undefined, f);
  });

  it('a skipped line that quotes its own bytes: its reason is one line, bounded, for the terminal and Problems', () => {
    const line = `{"v":1,"type":"rotation","step":1,"epoch":0,"distances":[0] ${'\u001b[2J\r'.repeat(10_000)}`;
    const log = parseRunLog(`${line}\n${JSON.stringify({ v: 1, type: 'x'.repeat(100_000) })}\n`);
    assert.equal(log.skipped.length, 2);
    for (const s of log.skipped) {
      assert.equal(controlIn(s.reason), undefined, s.reason);
      assert.ok(s.reason.length < 400, `${s.reason.length} characters`);
    }
  });

  it('the sanitizer: escapes shown, pairs kept, a cut never splits a pair, lines kept for the terminal', () => {
    assert.equal(oneLine('a\u001b[31mb\r\n\t\u0000\u009b\u202e\u2028'), String.raw`a\e[31mb\r\n\t\x00\x9b\u202e\u2028`);
    assert.equal(oneLine('\ud83d\ude00 \ud800 \udc00'), '\ud83d\ude00 \ufffd \ufffd');
    assert.equal(oneLine(`${'a'.repeat(9)}\ud83d\ude00`, 10), `${'a'.repeat(9)}… (11 characters)`);
    assert.equal(terminalText('one\ntwo\t\u001b[2J'), 'one\ntwo\t\\e[2J');
  });
});
