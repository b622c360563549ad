// The config checker the editor uses (src/engine/config/checker.ts): short texts checked at once,
// long ones in a worker thread without blocking the caller's event loop (a crafted 1 MB config takes
// about half a second to check), the newest check of a file winning, and a stuck or broken worker
// answered with one error at 1:1 instead of a check that never ends.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigChecker, INLINE_CHECK_CHARS } from '../src/engine/config/checker';
import { parseConfigText } from '../src/engine/config/validate';
import { tempDir } from './helpers/runs';

const WORKER = path.join(__dirname, '..', 'src', 'engine', 'config', 'checkWorker.js');

const BASE = {
  dataset: { name: 'synthetic', samples: 64, testSamples: 16, inputShape: [4], classes: 2 },
  model: { type: 'mlp', hidden: [4] },
  optimizer: { type: 'sgd', learningRate: 0.1 },
  schedule: { epochs: 1, batchSize: 8 },
};

/** About 1 MB of unknown keys: every one a problem to place and word (capped at 200). */
function craftedConfig(): string {
  const o: Record<string, unknown> = { ...BASE };
  for (let i = 0; i < 60_000; i++) o[`key${i}`] = i;
  return JSON.stringify(o);
}

/** The longest gap between ticks of a 5 ms timer while `work` runs. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  try {
    const result = await work();
    return { result, stallMs };
  } finally {
    clearInterval(timer);
  }
}

describe('the config checker', () => {
  const checker = new ConfigChecker(WORKER);
  after(() => checker.dispose());

  it('checks a short text at once, as parseConfigText does', async () => {
    const text = JSON.stringify({ ...BASE, model: { type: 'mlp', hidden: [4], oops: 1 } });
    assert.ok(text.length <= INLINE_CHECK_CHARS);
    const errors = await checker.check(text, 'short.layerrot.json');
    assert.deepEqual(errors, parseConfigText(text, 'short.layerrot.json').errors);
    assert.match(errors?.[0]?.message ?? '', /oops/);
  });

  it('checks a long crafted text in its worker: the same problems, and the caller never stalls', async () => {
    const text = craftedConfig();
    const t0 = performance.now();
    const inline = parseConfigText(text, 'long.layerrot.json').errors;
    const inlineMs = performance.now() - t0;
    const { result, stallMs } = await longestStall(() => checker.check(text, 'long.layerrot.json'));
    assert.deepEqual(result, inline);
    assert.ok(
      stallMs < Math.max(100, inlineMs / 3),
      `the event loop stalled ${stallMs.toFixed(0)} ms (inline: ${inlineMs.toFixed(0)} ms)`,
    );
  });

  it('the newest check of a file wins: an older one answers undefined', async () => {
    const text = craftedConfig();
    const older = checker.check(text, 'same.layerrot.json');
    const newer = checker.check(`${text} `, 'same.layerrot.json');
    assert.equal(await older, undefined);
    assert.ok((await newer)?.length);
  });

  it('a worker stuck on a text: one error at 1:1 after the time limit, then checks go on', async () => {
    const dir = tempDir('checker');
    const stuck = path.join(dir, 'stuck.js');
    fs.writeFileSync(
      stuck,
      `const { parentPort } = require('node:worker_threads');
       parentPort.on('message', (r) => { if (r.text === 'hang') for (;;); parentPort.postMessage({ id: r.id, errors: [] }); });`,
    );
    const c = new ConfigChecker(stuck, 0, 500);
    try {
      const errors = await c.check('hang', 'a.layerrot.json');
      assert.deepEqual(
        errors?.map((e) => [e.line, e.column, e.severity, e.message]),
        [[1, 1, 'error', 'the config could not be checked within 0.5 s']],
      );
      // A fresh worker answers the next one.
      assert.deepEqual(await c.check('{}', 'b.layerrot.json'), []);
    } finally {
      c.dispose();
    }
  });

  it('a worker that cannot start: one error at 1:1 saying why', async () => {
    const c = new ConfigChecker(path.join(tempDir('checker-missing'), 'missing.js'), 0);
    try {
      const errors = await c.check('{}', 'a.layerrot.json');
      assert.equal(errors?.length, 1);
      assert.equal(errors?.[0].line, 1);
      assert.match(errors?.[0].message ?? '', /^the config could not be checked: .*missing\.js/);
    } finally {
      c.dispose();
    }
  });
});
