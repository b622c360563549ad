// webview/src/features.ts in headless Chromium: the first-layer features snapshots of real tfjs
// runs (an MLP on 28x28x1 inputs, a CNN on RGB) drawn on a canvas in the monitor's page (its strict
// CSP), checked pixel by pixel against the snapshots (a tile per unit and panel, each unit
// contrast-normalized on its own, background between the tiles), and exported as a PNG that
// decodes to the same pixels. The module is bundled alone with esbuild (a global, LrmFeatures).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as esbuild from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { parseConfigText } from '../../src/engine/config/validate';
import { train } from '../../src/engine/trainer';
import { type FeaturesEvent, stamp } from '../../src/runlog/events';
import { base64Decode } from '../../src/runlog/features';
import { normalizeEvent } from '../../src/runlog/normalize';
import { monitorHtml } from '../../webview/html';
import { syntheticConfig } from '../helpers/runs';
import { CHROMIUM, ROOT } from './harness';

const ARTIFACTS = path.join(ROOT, '.test-artifacts');
const BACKGROUND = [0x1f, 0x1f, 0x1f];

/** The first and the last features events of a short real tfjs run, as a reader gets them. */
async function recordedPair(
  overrides: Record<string, any>,
): Promise<{ initial: FeaturesEvent; current: FeaturesEvent }> {
  const checked = parseConfigText(JSON.stringify(syntheticConfig(overrides)), 'features.layerrot.json');
  assert.ok(checked.ok);
  const snaps: FeaturesEvent[] = [];
  const fin = await train({
    config: checked.config,
    runId: 'features',
    backend: 'cpu',
    emit: (e) => {
      if (e.type !== 'features') return;
      const r = normalizeEvent(JSON.parse(JSON.stringify(stamp(e))));
      assert.ok(r.ok);
      snaps.push(r.event as FeaturesEvent);
    },
  });
  assert.equal(fin.status, 'completed', fin.reason);
  assert.ok(snaps.length >= 2);
  return { initial: snaps[0], current: snaps[snaps.length - 1] };
}

/** Each unit's RGB pixels (h x w x 3), contrast-normalized on its own, computed here from the int8 values. */
function expectedPixels(e: FeaturesEvent): number[][] {
  const q = new Int8Array(base64Decode(e.data).buffer);
  const [h, w, c] = e.image;
  const size = h * w * c;
  const units: number[][] = [];
  for (let u = 0; u < e.units; u++) {
    const unit = Array.from(q.subarray(u * size, (u + 1) * size));
    const lo = Math.min(...unit);
    const hi = Math.max(...unit);
    const px: number[] = [];
    for (let i = 0; i < h * w; i++)
      for (let ch = 0; ch < 3; ch++) {
        const v = unit[i * c + (c === 3 ? ch : 0)];
        px.push(hi > lo ? Math.round(((v - lo) * 255) / (hi - lo)) : 128);
      }
    units.push(px);
  }
  return units;
}

/** A PNG's RGBA pixels: 8-bit RGB or RGBA, not interlaced (what Chromium's encoder writes). */
function decodePng(bytes: Buffer): { width: number; height: number; rgba: Uint8Array } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const len = bytes.readUInt32BE(pos);
    const type = bytes.toString('ascii', pos + 4, pos + 8);
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    assert.equal(bytes.readUInt32BE(pos + 8 + len), zlib.crc32(bytes.subarray(pos + 4, pos + 8 + len)), `${type} CRC`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth');
      assert.ok(data[9] === 6 || data[9] === 2, `colour type ${data[9]}`);
      assert.equal(data[12], 0, 'not interlaced');
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1));
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.ok(pred !== undefined, `filter ${filter}`);
      out[y * stride + x] = (v + pred) & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let ch = 0; ch < 3; ch++) rgba[i * 4 + ch] = out[i * channels + ch];
    rgba[i * 4 + 3] = channels === 4 ? out[i * channels + 3] : 255;
  }
  return { width, height, rgba };
}

describe('first-layer features drawn in the webview', { timeout: 240_000 }, () => {
  let context: BrowserContext;
  let page: Page;
  let server: http.Server;
  let tmp: string;
  const problems: string[] = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-features-'));
    const built = await esbuild.build({
      entryPoints: [path.join(ROOT, 'webview/src/features.ts')],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'iife',
      globalName: 'LrmFeatures',
      target: ['chrome120'],
      logLevel: 'warning',
    });
    const script = built.outputFiles[0].text;
    const nonce = crypto.randomBytes(16).toString('base64url');
    let origin = '';
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          monitorHtml({
            scriptUri: `${origin}/features.js`,
            styleUri: `${origin}/features.css`,
            cspSource: origin,
            nonce,
            title: 'features',
          }),
        );
      } else if (url.pathname === '/features.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(script);
      } else if (url.pathname === '/favicon.ico') {
        res.writeHead(204);
        res.end();
      } else if (url.pathname === '/features.css') {
        res.writeHead(200, { 'content-type': 'text/css; charset=utf-8' });
        res.end('');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home, { recursive: true });
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
      env: { ...(process.env as Record<string, string>), HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') },
      viewport: { width: 1000, height: 800 },
      deviceScaleFactor: 1,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console.error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${origin}/`);
    await page.waitForFunction('window.LrmFeatures !== undefined');
  });

  after(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Draws the pair on a canvas in the page; returns the layout and the canvas's RGBA pixels. */
  async function draw(pair: { initial: FeaturesEvent; current: FeaturesEvent }, options: object = {}) {
    const r = (await page.evaluate(
      ([json, opts]) => {
        // Page code (the test's tsconfig has no DOM types).
        const g = globalThis as any;
        const app = g.document.getElementById('app');
        app.textContent = '';
        const canvas = g.document.createElement('canvas');
        app.append(canvas);
        const layout = g.LrmFeatures.drawFeatures(canvas, JSON.parse(json), JSON.parse(opts));
        const data: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let s = '';
        for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
        return { layout, width: canvas.width, height: canvas.height, pixels: btoa(s) };
      },
      [JSON.stringify(pair), JSON.stringify(options)] as const,
    )) as { layout: any; width: number; height: number; pixels: string };
    return { ...r, rgba: new Uint8Array(Buffer.from(r.pixels, 'base64')) };
  }

  /** Every tile's pixels are its unit's (scaled), and the pixel right of each tile is background. */
  function checkTiles(
    drawn: Awaited<ReturnType<typeof draw>>,
    pair: { initial: FeaturesEvent; current: FeaturesEvent },
  ) {
    const { layout, width, rgba } = drawn;
    const [h, w] = pair.current.image;
    const expected = [expectedPixels(pair.initial), expectedPixels(pair.current)];
    const at = (x: number, y: number) => [...rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + 3)];
    for (const t of layout.tiles) {
      assert.equal(t.w, w * layout.scale);
      assert.equal(t.h, h * layout.scale);
      const unit = expected[t.panel][t.unit];
      for (let y = 0; y < t.h; y++)
        for (let x = 0; x < t.w; x++) {
          const i = (Math.floor(y / layout.scale) * w + Math.floor(x / layout.scale)) * 3;
          const got = at(t.x + x, t.y + y);
          if (got[0] !== unit[i] || got[1] !== unit[i + 1] || got[2] !== unit[i + 2])
            assert.fail(`panel ${t.panel} unit ${t.unit} pixel (${x}, ${y}): ${got} != ${unit.slice(i, i + 3)}`);
        }
      assert.deepEqual(at(t.x + t.w, t.y), BACKGROUND, `right of unit ${t.unit}`);
      assert.deepEqual(at(t.x, t.y + t.h), BACKGROUND, `below unit ${t.unit}`);
    }
  }

  it('an MLP on 28x28 grey images: 64 tiles at initialization next to 64 now, each its unit, and a PNG of the same pixels', async () => {
    const pair = await recordedPair({
      dataset: { name: 'synthetic', samples: 400, testSamples: 100, inputShape: [28, 28, 1], classes: 4 },
      model: { type: 'mlp', hidden: [80, 16] },
      schedule: { epochs: 2, batchSize: 50 },
    });
    assert.equal(pair.current.step, 16);
    const drawn = await draw(pair);
    const { layout } = drawn;
    assert.equal(layout.tiles.length, 128);
    assert.deepEqual([layout.cols, layout.rows, layout.scale, layout.stacked], [8, 8, 2, false]);
    assert.deepEqual(
      layout.panels.map((p: any) => p.label),
      ['at initialization (step 0)', 'epoch 2, step 16'],
    );
    assert.equal(layout.title, 'dense1: first 64 of 80 units, 28×28 grey');
    assert.ok(drawn.width <= 960);
    assert.deepEqual([drawn.width, drawn.height], [layout.width, layout.height]);
    checkTiles(drawn, pair);
    // Grey: every tile pixel has r = g = b; and the units are not flat.
    const t = layout.tiles[70];
    const i = ((t.y + 10) * drawn.width + t.x + 10) * 4;
    assert.equal(drawn.rgba[i], drawn.rgba[i + 1]);
    assert.ok(expectedPixels(pair.current).every((u) => Math.min(...u) === 0 && Math.max(...u) === 255));

    const png = Buffer.from(
      await page.evaluate(async (json) => {
        const bytes: Uint8Array = await (globalThis as any).LrmFeatures.featuresPng(JSON.parse(json));
        let s = '';
        for (let k = 0; k < bytes.length; k += 0x8000) s += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
        return btoa(s);
      }, JSON.stringify(pair)),
      'base64',
    );
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'features-mlp.png'), png);
    const decoded = decodePng(png);
    assert.deepEqual([decoded.width, decoded.height], [drawn.width, drawn.height]);
    assert.ok(Buffer.from(decoded.rgba).equals(Buffer.from(drawn.rgba)), 'the PNG holds the drawn pixels');
    // The browser decodes it too.
    const size = await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const bitmap = await (globalThis as any).createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      return [bitmap.width, bitmap.height];
    }, png.toString('base64'));
    assert.deepEqual(size, [drawn.width, drawn.height]);

    // A narrow view (a side bar): one panel above the other, at scale 1.
    const narrow = await draw(pair, { maxWidth: 300 });
    assert.equal(narrow.layout.stacked, true);
    assert.equal(narrow.layout.scale, 1);
    assert.ok(narrow.width <= 300, `${narrow.width}`);
    checkTiles(narrow, pair);
    assert.deepEqual(problems, []);
  });

  it('a CNN on RGB images: every filter a 3x3 colour patch, scaled up', async () => {
    const pair = await recordedPair({
      dataset: { name: 'synthetic', samples: 64, testSamples: 16, inputShape: [8, 8, 3], classes: 4 },
      model: { type: 'vgg', filters: [6, 8], convsPerStage: [1, 1], dense: [], batchNorm: false },
      schedule: { epochs: 2, batchSize: 16 },
    });
    const drawn = await draw(pair);
    assert.equal(drawn.layout.tiles.length, 12);
    assert.deepEqual([drawn.layout.cols, drawn.layout.rows, drawn.layout.scale], [3, 2, 18]);
    assert.equal(drawn.layout.title, 'conv1_1: all 6 filters, 3×3 RGB');
    checkTiles(drawn, pair);
    // Colour: some pixel's channels differ.
    const colour = drawn.layout.tiles.some((t: any) => {
      const i = ((t.y + 1) * drawn.width + t.x + 1) * 4;
      return drawn.rgba[i] !== drawn.rgba[i + 1] || drawn.rgba[i + 1] !== drawn.rgba[i + 2];
    });
    assert.ok(colour);
    // Snapshots of different layers are not compared: the current one alone.
    const alone = await draw({ initial: { ...pair.initial, layer: 'other' }, current: pair.current });
    assert.equal(alone.layout.tiles.length, 6);
    assert.deepEqual(
      alone.layout.panels.map((p: any) => p.label),
      ['epoch 2, step 8'],
    );
    checkTiles(alone, { initial: pair.current, current: pair.current });
    await page.screenshot({ path: path.join(ARTIFACTS, 'features-cnn.png') });
    assert.deepEqual(problems, []);
  });
});
