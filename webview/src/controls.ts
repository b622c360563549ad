// Small controls of the monitor's chart toolbar: a segmented choice, a slider, a button. Plain
// buttons and inputs (keyboard and screen readers get them for free), themed in styles.css.
import { el, setText } from './dom';

export interface Segmented<T extends string> {
  root: HTMLElement;
  set(value: T): void;
}

/** A row of toggle buttons of which one is on (aria-pressed). */
export function segmented<T extends string>(
  label: string,
  name: string,
  options: readonly { value: T; text: string; title?: string }[],
  value: T,
  pick: (v: T) => void,
): Segmented<T> {
  const root = el('span', 'segmented');
  root.setAttribute('role', 'group');
  root.setAttribute('aria-label', label);
  root.dataset.control = name;
  if (label) root.appendChild(el('span', 'control-label', label));
  const buttons = options.map((o) => {
    const b = el('button', 'segment', o.text);
    b.type = 'button';
    b.dataset.value = o.value;
    if (o.title) b.title = o.title;
    b.addEventListener('click', () => pick(o.value));
    root.appendChild(b);
    return b;
  });
  const set = (v: T) => {
    for (const b of buttons) {
      const on = b.dataset.value === v;
      b.classList.toggle('on', on);
      b.setAttribute('aria-pressed', String(on));
    }
  };
  set(value);
  return { root, set };
}

export interface Slider {
  root: HTMLElement;
  input: HTMLInputElement;
  set(value: number): void;
}

/** A labelled range input showing its value. `change` fires as it moves (at most once a frame). */
export function slider(
  label: string,
  name: string,
  opts: { min: number; max: number; step: number; value: number; title?: string },
  change: (v: number) => void,
): Slider {
  const root = el('label', 'slider');
  root.dataset.control = name;
  if (opts.title) root.title = opts.title;
  const input = el('input');
  input.type = 'range';
  input.min = String(opts.min);
  input.max = String(opts.max);
  input.step = String(opts.step);
  input.setAttribute('aria-label', label);
  const out = el('span', 'slider-value');
  root.append(el('span', 'control-label', label), input, out);
  const set = (v: number) => {
    input.value = String(v);
    setText(out, v > 0 ? v.toFixed(2) : 'off');
  };
  set(opts.value);
  let frame = 0;
  input.addEventListener('input', () => {
    const v = Number(input.value);
    setText(out, v > 0 ? v.toFixed(2) : 'off');
    if (!frame)
      frame = requestAnimationFrame(() => {
        frame = 0;
        change(Number(input.value));
      });
  });
  return { root, input, set };
}

export function button(text: string, title: string, name: string, click: () => void): HTMLButtonElement {
  const b = el('button', 'tool', text);
  b.type = 'button';
  b.title = title;
  b.dataset.action = name;
  b.addEventListener('click', click);
  return b;
}
