// Text that came from outside the runner — a server's answer or error, a run record's fields, a stored log replayed
// by `run --verbose` — is printed through `printable`, so it can never drive the terminal: C0 and C1 control
// characters (ESC and every sequence it starts, CR, BEL, backspace, the 8-bit CSI 0x9b…), DEL, the line and
// paragraph separators and the bidirectional overrides become visible escapes (`\x1b`, `\u202e`). In a log,
// newline and tab stay, a CR before a newline is dropped, and colour sequences (SGR, `ESC [ … m`) are removed.

/** Every character that can move the cursor, change the terminal's state, or reorder what is shown. */
// eslint-disable-next-line no-control-regex -- matching control characters is this module's purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- as above, newline and tab excepted
const CONTROL_IN_LOG = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** Select Graphic Rendition (colours, bold): harmless styling, dropped from replayed logs rather than shown escaped. */
// eslint-disable-next-line no-control-regex -- ESC starts the sequence
const SGR = /\u001b\[[0-9;:]*m/g;

function escape(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` safe to print: one line (`line`, for a value inside a message: newlines and tabs are escaped too) or a log
 * (`log`: newlines and tabs kept).
 */
export function printable(text: string, mode: 'line' | 'log' = 'line'): string {
  if (mode === 'line') return text.replace(CONTROL, escape);
  return text.replace(SGR, '').replace(/\r\n/g, '\n').replace(CONTROL_IN_LOG, escape);
}
