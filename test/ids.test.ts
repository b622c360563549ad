// package.json's contributes and the ids the code uses (src/vscode/ids.ts) match exactly: no
// command, view, item context or activation event in one and not the other. Plain Node.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { it } from 'node:test';
import { BACKEND_NAMES } from '../src/engine/backend/names';
import {
  ACTIVATION_EVENTS,
  COMMANDS,
  EXTENSION_PREFIX,
  INTERNAL_COMMANDS,
  RUN_ITEM_CONTEXT,
  VIEW_CONTAINER,
  VIEWS,
} from '../src/vscode/ids';

const ROOT = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const contributes = pkg.contributes;
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

type MenuItem = { command: string; when?: string };
const menuItems: MenuItem[] = Object.values(contributes.menus as Record<string, MenuItem[]>).flat();
const whens = [
  ...menuItems.map((m) => m.when ?? ''),
  ...((contributes.keybindings ?? []) as { when?: string }[]).map((k) => k.when ?? ''),
  ...((contributes.viewsWelcome ?? []) as { when?: string }[]).map((v) => v.when ?? ''),
];
/** Values compared to `key` in the when clauses: `key == value`. */
const whenValues = (key: string) =>
  whens.flatMap((w) => [...w.matchAll(new RegExp(`\\b${key}\\s*==\\s*([\\w.-]+)`, 'g'))].map((m) => m[1]));

it('the contributed commands are exactly COMMANDS; internal ones are not contributed', () => {
  const contributed = (contributes.commands as { command: string }[]).map((c) => c.command);
  assert.deepEqual(sorted(contributed), sorted(Object.values(COMMANDS)));
  for (const id of Object.values(INTERNAL_COMMANDS)) assert.ok(!contributed.includes(id), id);
  for (const id of [...Object.values(COMMANDS), ...Object.values(INTERNAL_COMMANDS)])
    assert.ok(id.startsWith(`${EXTENSION_PREFIX}.`), id);
});

it('menus, keybindings and welcome links use contributed commands only', () => {
  const used = [
    ...menuItems.map((m) => m.command),
    ...((contributes.keybindings ?? []) as { command: string }[]).map((k) => k.command),
    ...((contributes.viewsWelcome ?? []) as { contents: string }[]).flatMap((v) =>
      [...v.contents.matchAll(/\(command:([\w.]+)/g)].map((m) => m[1]),
    ),
  ];
  assert.ok(used.length > 0);
  const known = new Set<string>(Object.values(COMMANDS));
  for (const id of used) assert.ok(known.has(id), `${id} is not in COMMANDS`);
});

it('the views and their container are exactly VIEWS and VIEW_CONTAINER', () => {
  assert.deepEqual(Object.keys(contributes.views), [VIEW_CONTAINER]);
  assert.deepEqual(
    (contributes.viewsContainers.activitybar as { id: string }[]).map((c) => c.id),
    [VIEW_CONTAINER],
  );
  const views = Object.values(contributes.views as Record<string, { id: string }[]>)
    .flat()
    .map((v) => v.id);
  assert.deepEqual(sorted(views), sorted(Object.values(VIEWS)));
  const referenced = [
    ...whenValues('view'),
    ...((contributes.viewsWelcome ?? []) as { view: string }[]).map((v) => v.view),
  ];
  for (const id of referenced) assert.ok(views.includes(id), `${id} is not a view`);
});

it('the item contexts in `viewItem ==` clauses are exactly those the runs tree sets', () => {
  const used = whenValues('viewItem');
  for (const v of used)
    assert.ok((Object.values(RUN_ITEM_CONTEXT) as string[]).includes(v), `${v} is not a RUN_ITEM_CONTEXT`);
  assert.ok(used.includes(RUN_ITEM_CONTEXT.running));
});

it('the activation events are exactly ACTIVATION_EVENTS', () => {
  assert.deepEqual(pkg.activationEvents, [...ACTIVATION_EVENTS]);
});

it('the backend setting and the config schema offer exactly BACKEND_NAMES', () => {
  const setting = contributes.configuration.properties['layerRotation.backend'];
  assert.deepEqual(setting.enum, ['config', ...BACKEND_NAMES]);
  const schema = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'python', 'layer_rotation', 'layerrot.schema.json'), 'utf8'),
  );
  assert.deepEqual(schema.properties.backend.enum, [...BACKEND_NAMES]);
});
