// The host <-> webview protocol: messages from the monitor webview are validated before they reach
// the extension's commands, and the webview validates the host's before it acts on them.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { normalizeEvent } from '../src/runlog/normalize';
import { makeRunId } from '../src/runlog/runfolder';
import {
  DEFAULT_VIEW,
  type HostMessage,
  isHostMessage,
  isViewSettings,
  isWebviewMessage,
  RUN_ID,
  RUN_LIST_STATUSES,
  type ViewSettings,
} from '../webview/protocol';

const SETTINGS: ViewSettings = {
  x: 'time',
  smoothing: 0.6,
  quantity: 'both',
  y: { distance: 'log', rate: 'auto', loss: 'log', accuracy: 'fixed' },
};
const VIEW = { settings: SETTINGS, hidden: ['dense1'], range: [0.5, 1.5] };

it("accepts exactly the protocol's messages", () => {
  assert.ok(isWebviewMessage({ type: 'ready' }));
  assert.ok(isWebviewMessage({ type: 'select', runId: 'mnist-default-20261128-120000' }));
  assert.ok(isWebviewMessage({ type: 'stop', runId: 'a.b_c-1' }));
  assert.ok(isWebviewMessage({ type: 'openConfig', runId: 'x' }));
  assert.ok(isWebviewMessage({ type: 'settings', settings: DEFAULT_VIEW }));
  assert.ok(isWebviewMessage({ type: 'settings', settings: SETTINGS }));
  assert.ok(isWebviewMessage({ type: 'export', runId: 'r', kind: 'csv', view: VIEW }));
  assert.ok(isWebviewMessage({ type: 'export', runId: 'r', kind: 'svg', view: { ...VIEW, range: null, hidden: [] } }));
  assert.ok(isWebviewMessage({ type: 'png', runId: 'r', data: 'iVBORw0KGgo=' }));
});

it('chart settings: every field, each a known value, nothing else', () => {
  assert.ok(isViewSettings(DEFAULT_VIEW));
  // Grouping by block: optional (settings kept before it existed stay valid), one of its modes.
  for (const group of ['auto', 'blocks', 'layers']) assert.ok(isViewSettings({ ...SETTINGS, group }), group);
  for (const bad of [
    null,
    {},
    { ...SETTINGS, extra: 1 },
    { ...SETTINGS, x: 'seconds' },
    { ...SETTINGS, smoothing: -0.1 },
    { ...SETTINGS, smoothing: 1 },
    { ...SETTINGS, smoothing: '0.5' },
    { ...SETTINGS, smoothing: Number.NaN },
    { ...SETTINGS, quantity: 'angle' },
    { ...SETTINGS, group: 'block' },
    { ...SETTINGS, group: null },
    { x: 'epoch', smoothing: 0, quantity: 'distance' },
    { ...SETTINGS, y: { ...SETTINGS.y, rate: 'fixed' } }, // a rate has no fixed range
    { ...SETTINGS, y: { ...SETTINGS.y, accuracy: 'log' } },
    { ...SETTINGS, y: { distance: 'log' } },
    { ...SETTINGS, y: { ...SETTINGS.y, extra: 'log' } },
  ])
    assert.equal(isViewSettings(bad), false, JSON.stringify(bad));
});

it('rejects anything else: unknown types, extra keys, bad run ids, non-objects', () => {
  for (const m of [
    null,
    'ready',
    42,
    [],
    {},
    { type: 'exec', command: 'rm -rf /' },
    { type: 'ready', extra: 1 },
    { type: 'stop' },
    { type: 'stop', runId: 7 },
    { type: 'stop', runId: '../../etc/passwd' },
    { type: 'select', runId: 'a b' },
    { type: 'select', runId: 'x'.repeat(201) },
    { type: 'openConfig', runId: 'x', file: '/etc/passwd' },
    { type: 'settings' },
    { type: 'settings', settings: { ...SETTINGS, smoothing: 2 } },
    { type: 'settings', settings: SETTINGS, extra: 1 },
    { type: 'export', runId: 'r', kind: 'pdf', view: VIEW },
    { type: 'export', runId: '../r', kind: 'csv', view: VIEW },
    { type: 'export', runId: 'r', kind: 'csv' },
    { type: 'export', runId: 'r', kind: 'csv', view: { ...VIEW, range: [2, 1] } },
    { type: 'export', runId: 'r', kind: 'csv', view: { ...VIEW, range: [0, Number.POSITIVE_INFINITY] } },
    { type: 'export', runId: 'r', kind: 'csv', view: { ...VIEW, hidden: [1] } },
    { type: 'export', runId: 'r', kind: 'csv', view: { ...VIEW, file: '/etc/passwd' } },
    { type: 'export', runId: 'r', kind: 'csv', view: VIEW, file: '/etc/passwd' },
    { type: 'png', runId: 'r', data: '' },
    { type: 'png', runId: 'r', data: 'not base64!' },
    { type: 'png', runId: 'r', data: 'iVBORw0KGgo=', kind: 'x' },
  ]) {
    assert.equal(isWebviewMessage(m), false, JSON.stringify(m));
  }
});

it('the host sends only messages the webview accepts', () => {
  const started = normalized({ v: 1, time: 1, type: 'run_started', runId: 'r', layers: [{ name: 'a' }] });
  const rotation = normalized({ v: 1, time: 2, type: 'rotation', step: 0, epoch: 0, distances: [Number.NaN] });
  const messages: HostMessage[] = [
    { type: 'runs', runs: [], selected: null },
    {
      type: 'runs',
      runs: RUN_LIST_STATUSES.map((status, i) => ({ runId: `r${i}`, name: 'x', status, live: i % 2 === 0 })),
      selected: 'r0',
    },
    { type: 'runs', runs: [{ runId: 'r', name: 'x', status: 'failed', live: false, outside: true }], selected: 'r' },
    { type: 'load', runId: 'r', events: [started, rotation] },
    { type: 'append', runId: 'r', events: [] },
    { type: 'select', runId: 'r' },
    { type: 'settings', settings: SETTINGS },
  ];
  for (const m of messages) assert.ok(isHostMessage(m), JSON.stringify(m));
});

it('the webview rejects malformed host messages whole', () => {
  const item = { runId: 'r', name: 'x', status: 'running', live: true };
  for (const m of [
    null,
    [],
    { type: 'runs' },
    { type: 'runs', runs: 'x', selected: null },
    { type: 'runs', runs: [{ ...item, status: 'exploded' }], selected: null },
    { type: 'runs', runs: [{ ...item, runId: 'a b' }], selected: null },
    { type: 'runs', runs: [{ ...item, live: 'yes' }], selected: null },
    { type: 'runs', runs: [item], selected: '../x' },
    { type: 'runs', runs: [item] },
    { type: 'load' },
    { type: 'load', runId: 'r', events: 'x' },
    { type: 'append', runId: 7, events: [] },
    // Raw log lines that the host did not normalize: not events the webview can index.
    { type: 'append', runId: 'r', events: [{ v: 1, type: 'rotation', step: 1, epoch: 0.1 }] },
    { type: 'append', runId: 'r', events: [{ v: 1, type: 'run_started' }] },
    { type: 'append', runId: 'r', events: [null] },
    { type: 'select', runId: 'r', extra: true },
    { type: 'stop', runId: 'r' },
    { type: 'settings', settings: { ...SETTINGS, x: 'wall' } },
    { type: 'settings', settings: SETTINGS, extra: 1 },
    { type: 'nope' },
  ])
    assert.equal(isHostMessage(m), false, JSON.stringify(m));
});

it('run ids: what the host makes of a config name passes the shared pattern', () => {
  assert.ok(RUN_ID.test(makeRunId('My config: ünïcode & spaces')));
  assert.equal(RUN_ID.test('a/b'), false);
});

function normalized(value: unknown) {
  const r = normalizeEvent(value);
  assert.ok(r.ok);
  return r.event;
}

it('a load of 20,000 records of 200 layers: a value that is not a finite number or null, however deep, rejects it whole', () => {
  const layers = 200;
  const started = normalized({
    v: 1,
    time: 0,
    type: 'run_started',
    runId: 'r',
    layers: Array.from({ length: layers }, (_, i) => ({ name: `l${i}` })),
  });
  const record = (r: number) =>
    normalized({
      v: 1,
      time: r,
      type: 'rotation',
      step: r,
      epoch: r / 1000,
      steps: 1,
      distances: Array.from({ length: layers }, (_, i) => (i === 7 && r % 10 === 0 ? null : (r + i) / 40_000)),
      rotation: Array.from({ length: layers }, () => 0.001),
    });
  const events: unknown[] = [started];
  for (let r = 0; r < 20_000; r++) events.push(record(r));
  const load = (evs: unknown[]) => ({ type: 'load', runId: 'r', events: evs });
  assert.ok(isHostMessage(load(events)));
  // Each bad value planted in the last record's distances (or rotation), past 4,000,000 good ones.
  const bad: unknown[] = ['NaN', '0.5', Number.NaN, Infinity, -Infinity, {}, [], true, undefined];
  for (const v of bad)
    for (const key of ['distances', 'rotation'] as const) {
      const last = events[events.length - 1] as Record<string, unknown[]>;
      const copy = { ...last, [key]: [...last[key]] };
      copy[key][layers - 3] = v;
      assert.equal(isHostMessage(load([...events.slice(0, -1), copy])), false, `${key}: ${String(v)}`);
    }
  // A hole (a sparse array, as structured cloning keeps it) passes, as it always did: the store reads it as a gap.
  const last = events[events.length - 1] as Record<string, unknown[]>;
  const sparse = [...last.distances];
  delete sparse[5];
  assert.ok(isHostMessage(load([...events.slice(0, -1), { ...last, distances: sparse }])));
});
