// A strict well-formedness check of the XML our SVG writers make, written from the XML 1.0 spec
// independently of src/ (which it checks): every character in the Char production, elements
// nested and closed, attributes quoted with no '<' in them, no markup character raw in text,
// and only the predefined and numeric character references. Not a general XML parser: no
// comments, CDATA, processing instructions or DOCTYPE (our SVGs have none; any is reported).

/** XML 1.0's Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
const REFERENCE = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

/** Why `text` is not well-formed XML (with the offset), or undefined when it is. */
export function xmlProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let cp = c;
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return `lone high surrogate at ${i}`;
      cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return `lone low surrogate at ${i}`;
    if (!isXmlChar(cp)) return `character U+${cp.toString(16).padStart(4, '0')} at ${i} is not an XML Char`;
  }
  const stack: string[] = [];
  let i = 0;
  let roots = 0;
  const refAt = (j: number): number => {
    const m = REFERENCE.exec(text.slice(j, j + 16));
    return m ? m[0].length : 0;
  };
  while (i < text.length) {
    if (text[i] === '<') {
      if (text.startsWith('</', i)) {
        const m = NAME.exec(text.slice(i + 2, i + 200));
        if (!m) return `bad end tag at ${i}`;
        const close = text.indexOf('>', i);
        if (close < 0 || text.slice(i + 2 + m[0].length, close).trim() !== '') return `bad end tag at ${i}`;
        if (stack.pop() !== m[0]) return `end tag </${m[0]}> at ${i} does not match`;
        i = close + 1;
        continue;
      }
      const m = NAME.exec(text.slice(i + 1, i + 200));
      if (!m) return `markup that is not an element at ${i}`;
      let j = i + 1 + m[0].length;
      // Attributes: whitespace, name, =, quoted value without '<', references only.
      const seen = new Set<string>();
      for (;;) {
        const ws = /^[ \t\r\n]*/.exec(text.slice(j, j + 100))![0].length;
        j += ws;
        if (text.startsWith('/>', j) || text[j] === '>') break;
        if (ws === 0) return `no space before an attribute at ${j}`;
        const a = NAME.exec(text.slice(j, j + 200));
        if (!a) return `bad attribute name at ${j}`;
        if (seen.has(a[0])) return `attribute ${a[0]} twice at ${j}`;
        seen.add(a[0]);
        j += a[0].length;
        if (text[j] !== '=') return `attribute ${a[0]} without = at ${j}`;
        const q = text[j + 1];
        if (q !== '"' && q !== "'") return `attribute ${a[0]} not quoted at ${j}`;
        const end = text.indexOf(q, j + 2);
        if (end < 0) return `attribute ${a[0]} not closed at ${j}`;
        for (let k = j + 2; k < end; k++) {
          if (text[k] === '<') return `'<' in attribute ${a[0]} at ${k}`;
          if (text[k] === '&') {
            const n = refAt(k);
            if (!n) return `bare '&' in attribute ${a[0]} at ${k}`;
            k += n - 1;
          }
        }
        j = end + 1;
      }
      if (stack.length === 0) roots++;
      if (roots > 1) return `a second root element at ${i}`;
      if (text.startsWith('/>', j)) i = j + 2;
      else {
        stack.push(m[0]);
        i = j + 1;
      }
      continue;
    }
    if (text[i] === '&') {
      const n = refAt(i);
      if (!n) return `bare '&' at ${i}`;
      i += n;
      continue;
    }
    if (text.startsWith(']]>', i)) return `']]>' in text at ${i}`;
    if (stack.length === 0 && !/[ \t\r\n]/.test(text[i])) return `text outside the root element at ${i}`;
    i++;
  }
  if (stack.length) return `<${stack[stack.length - 1]}> not closed`;
  if (roots !== 1) return 'no root element';
  return undefined;
}
