// An SVG element rendered to PNG in the page: serialized, loaded as a data: image (the CSP allows
// data: images), drawn on a canvas, encoded. Returns the PNG's bytes in base64.
export async function svgToPngBase64(svg: SVGSVGElement, scale = 2): Promise<string> {
  const w = Number(svg.getAttribute('width'));
  const h = Number(svg.getAttribute('height'));
  return svgTextToPngBase64(new XMLSerializer().serializeToString(svg), w, h, scale);
}

/** SVG text of the given size (CSS px) rendered to PNG at `scale`: the PNG's bytes in base64. */
export async function svgTextToPngBase64(text: string, w: number, h: number, scale = 2): Promise<string> {
  const img = new Image();
  img.src = `data:image/svg+xml;base64,${base64(new TextEncoder().encode(text))}`;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  const g = canvas.getContext('2d');
  if (!g) throw new Error('no 2d canvas');
  g.scale(scale, scale);
  g.drawImage(img, 0, 0, w, h);
  return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

/** Bytes as base64 (in pieces: String.fromCharCode takes a bounded number of arguments). */
export function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
