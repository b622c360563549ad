// The folders by concern and the one direction of their dependencies (README, "Layout"): every
// relative import of every source file is read and checked against the allowed arrows, and only
// the editor layer imports `vscode`.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..');

type Area = 'runlog' | 'engine' | 'launch' | 'experiments' | 'vscode' | 'webview' | 'entry';

/** What each area may import (besides itself). */
const ALLOWED: Record<Area, Area[]> = {
  runlog: [],
  engine: ['runlog'],
  launch: ['engine', 'runlog'],
  experiments: ['launch', 'engine', 'runlog'],
  // The comparison tab's model and its curves as plain data (checked below: nothing else of experiments).
  webview: ['runlog', 'experiments'],
  vscode: ['experiments', 'launch', 'engine', 'runlog', 'webview'],
  entry: ['vscode', 'experiments', 'launch', 'engine', 'runlog', 'webview'],
};

function areaOf(file: string): Area | undefined {
  const rel = path.relative(ROOT, file).split(path.sep).join('/');
  if (rel === 'src/cli.ts' || rel === 'src/extension.ts') return 'entry';
  const m = /^src\/(runlog|engine|launch|experiments|vscode)\//.exec(rel);
  if (m) return m[1] as Area;
  if (rel.startsWith('webview/')) return 'webview';
  return undefined;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(p));
    else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers of import/export-from/require/import() in a source text. */
function specifiers(text: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => m[1]);
}

const files = [...sources(path.join(ROOT, 'src')), ...sources(path.join(ROOT, 'webview'))];

describe('layout', () => {
  it('finds the sources of every area', () => {
    const areas = new Set(files.map(areaOf));
    for (const a of Object.keys(ALLOWED)) {
      if (a !== 'experiments') assert.ok(areas.has(a as Area), `no source file in area ${a}`);
    }
  });

  it('imports point one way: runlog <- engine <- launch <- vscode, webview -> runlog', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = areaOf(file);
      if (!from) continue;
      for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const to = areaOf(path.resolve(path.dirname(file), spec));
        if (!to || to === from || ALLOWED[from].includes(to)) continue;
        wrong.push(`${path.relative(ROOT, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the webview takes only the plain-data comparison modules of experiments (no Node)', () => {
    const plain = [
      'src/experiments/compareModel.ts',
      'src/experiments/compareCurves.ts',
      'src/experiments/evidence.ts',
    ];
    const wrong: string[] = [];
    for (const file of files.filter((f) => areaOf(f) === 'webview')) {
      for (const spec of specifiers(fs.readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(file), spec);
        if (areaOf(target) !== 'experiments') continue;
        const rel = `${path.relative(ROOT, target).split(path.sep).join('/')}.ts`;
        if (!plain.includes(rel)) wrong.push(`${path.relative(ROOT, file)} imports ${spec}`);
      }
    }
    assert.deepEqual(wrong, []);
    // And those import nothing but types of runlog, runlog's leaf modules (which import nothing), and each other.
    const importsOf = (file: string) => [
      ...fs.readFileSync(path.join(ROOT, file), 'utf8').matchAll(/^import\s+(type\s+)?[^'"]*['"]([^'"]+)['"]/gm),
    ];
    const leaf = (spec: string) =>
      spec.startsWith('../runlog/') && importsOf(`src/runlog/${spec.slice('../runlog/'.length)}.ts`).length === 0;
    for (const p of plain) {
      for (const m of importsOf(p))
        assert.ok(
          (m[1] && m[2].startsWith('../runlog/')) ||
            leaf(m[2]) ||
            plain.includes(`src/experiments/${m[2].slice(2)}.ts`),
          `${p} imports ${m[2]} (not a type of runlog, a leaf of runlog, nor one of these modules)`,
        );
    }
  });

  it('only the editor layer imports vscode', () => {
    const importers = files
      .filter((f) => specifiers(fs.readFileSync(f, 'utf8')).includes('vscode'))
      .map((f) => path.relative(ROOT, f).split(path.sep).join('/'));
    assert.ok(importers.length > 0);
    for (const f of importers) assert.match(f, /^src\/(vscode\/|extension\.ts$)/, `${f} imports vscode`);
  });
});
