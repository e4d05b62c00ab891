// Minimal XML writer for EC2 responses: objects become child elements, arrays become <item> lists,
// undefined members are omitted.
export type XmlValue = string | number | boolean | undefined | null | XmlValue[] | { [k: string]: XmlValue };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function write(name: string, v: XmlValue, out: string[]): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    out.push(`<${name}>`);
    for (const item of v) write('item', item, out);
    out.push(`</${name}>`);
  } else if (typeof v === 'object') {
    out.push(`<${name}>`);
    for (const [k, c] of Object.entries(v)) write(k, c, out);
    out.push(`</${name}>`);
  } else {
    out.push(`<${name}>${escapeXml(String(v))}</${name}>`);
  }
}

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export function successXml(action: string, requestId: string, body: Record<string, XmlValue>): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<${action}Response xmlns="${EC2_XMLNS}">`, `<requestId>${escapeXml(requestId)}</requestId>`];
  for (const [k, v] of Object.entries(body)) write(k, v, out);
  out.push(`</${action}Response>`);
  return out.join('');
}

export function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${escapeXml(requestId)}</RequestID></Response>`;
}
