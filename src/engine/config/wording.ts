// Wording shared by the error messages: where a value is, how a value or a list reads.
import { isObject, type JsonPath } from './json';

/** "optimizer.learningRate", "model.hidden[0]"; the root is "the config". */
export function where(path: JsonPath): string {
  if (path.length === 0) return 'the config';
  return path
    .map((seg, i) =>
      typeof seg === 'number'
        ? `[${seg}]`
        : !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)
          ? `[${JSON.stringify(seg)}]` // a sweep's dotted path, or an odd key
          : i === 0
            ? seg
            : `.${seg}`,
    )
    .join('');
}

export function inWhere(path: JsonPath): string {
  return path.length === 0 ? 'at the top level' : `in ${where(path)}`;
}

export function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array of ${count(v.length, 'item')}`;
  if (isObject(v)) return 'an object';
  return String(v);
}

export function quoteList(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

export function nameList(names: string[]): string {
  if (names.length <= 12) return names.join(', ');
  return `${names.slice(0, 6).join(', ')}, ..., ${names.slice(-3).join(', ')}`;
}

export function count(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

export function firstSentence(text: string): string {
  const end = text.search(/\.\s/);
  return end < 0 ? text : text.slice(0, end + 1);
}
