// Helpers for tests that train for real: temporary folders, configs derived from the
// examples, and running the CLI as a child process.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { parse } from 'jsonc-parser';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(ROOT, 'bin', 'layer-rotation.js');
export const EXAMPLES = path.join(ROOT, 'examples');

const created: string[] = [];
process.on('exit', () => {
  if (process.env.KEEP_TEST_RUNS) return;
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder, removed when the test process exits (kept with KEEP_TEST_RUNS=1). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lrm-${prefix}-`));
  created.push(dir);
  return dir;
}

/** An example config (JSON with comments) as an object. */
export function readExample(name: string): Record<string, any> {
  return parse(fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
}

/** Writes a config object as `<dir>/<name>.layerrot.json` and returns its path. */
export function writeConfig(dir: string, name: string, config: object): string {
  const file = path.join(dir, `${name}.layerrot.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * A small, fast synthetic config for tests that need a run but not MNIST: the tfjs engine on wasm,
 * said (a config without `engine` trains with PyTorch where a Python has torch: engine auto).
 */
export function syntheticConfig(overrides: Record<string, any> = {}): Record<string, any> {
  return {
    name: 'synthetic-test',
    seed: 3,
    engine: 'tfjs',
    backend: 'wasm',
    dataset: { name: 'synthetic', samples: 1200, testSamples: 300, inputShape: [32], classes: 4, validationSplit: 0.1 },
    model: { type: 'mlp', hidden: [32, 32] },
    optimizer: { type: 'sgd', learningRate: 0.05 },
    schedule: { epochs: 2, batchSize: 32 },
    ...overrides,
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `layer-rotation ARGS` (or another build of the CLI: `cli`); `onStderr` sees stderr as it comes (e.g. to kill mid-way). */
export function runCli(
  args: string[],
  opts: {
    onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
    timeoutMs?: number;
    cli?: string;
    /** Added to this process's environment. */
    env?: Record<string, string>;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cli ?? CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`layer-rotation ${args.join(' ')} timed out; stderr:\n${stderr}`));
    }, opts.timeoutMs ?? 240_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The only run folder under `runsDir`. */
export function onlyRun(runsDir: string): string {
  const runs = fs.readdirSync(runsDir);
  if (runs.length !== 1) throw new Error(`expected one run in ${runsDir}, found ${runs.join(', ') || 'none'}`);
  return path.join(runsDir, runs[0]);
}

/** Parses every line of a run log, failing on any line that is not a complete JSON object. */
export function strictEvents(runDir: string): any[] {
  const text = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8');
  if (!text.endsWith('\n')) throw new Error('the log does not end with a complete line');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (_e) {
        throw new Error(`line ${i + 1} is not complete JSON: ${line.slice(0, 200)}`);
      }
    });
}
