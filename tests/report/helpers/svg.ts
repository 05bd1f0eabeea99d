// Counting the marks vega drew in an SVG string: the items inside each `role-mark` group (axes, legends and titles
// are other roles).
export function countMarks(svg: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const re = /<g class="mark-(\w+) role-mark[^"]*"[^>]*>/g;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const end = svg.indexOf('</g>', m.index + m[0].length);
    const body = svg.slice(m.index + m[0].length, end);
    const items = (body.match(/<(path|rect|circle|line|text)\b/g) ?? []).length;
    counts[m[1]] = (counts[m[1]] ?? 0) + items;
  }
  return counts;
}

/** The text of every <text> element, unescaped enough for titles. */
export function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'"),
  );
}

/** Width and height of a PNG from its IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
