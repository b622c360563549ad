// Messages from the monitor webview are validated before they reach the extension's commands.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isWebviewMessage } from '../webview/protocol';

it("accepts exactly the protocol's messages", () => {
  assert.ok(isWebviewMessage({ type: 'ready' }));
  assert.ok(isWebviewMessage({ type: 'select', runId: 'mnist-default-20261128-120000' }));
  assert.ok(isWebviewMessage({ type: 'stop', runId: 'a.b_c-1' }));
  assert.ok(isWebviewMessage({ type: 'openConfig', runId: 'x' }));
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
  ]) {
    assert.equal(isWebviewMessage(m), false, JSON.stringify(m));
  }
});
