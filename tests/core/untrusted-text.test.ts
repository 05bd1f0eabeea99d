// The two functions every message goes through when it carries something from outside: displayUrl (no credential,
// query or fragment of any URL, whatever the scheme and however the password is written) with parseUrl (the WHATWG
// parser, refusing the one ambiguous form), and printable (no control character reaches the terminal).
import { expect } from 'chai';
import { displayUrl, hasUrlCredentials, parseUrl } from '../../runner/core/url-credentials.js';
import { printable } from '../../runner/core/printable.js';

/** Passwords as users write them: with `/`, `@`, `:`, `?`, `#`, `%`, spaces, percent-encoded or not. */
const PASSWORDS = ['p/ss', 'p@ss', 'p:ss', 'pa/s@s:w', '2024/secret', 'p?ss', 'p#ss', 'p%2Fss', 'p%40ss%3Aw', '100%real', 'x y', 'ü/ñ@'];
const SCHEMES = ['http', 'https', 's3', 'file', 'ftp', 'gopher', 'git+ssh', 'weird-scheme'];

function fragments(password: string): string[] {
  // Every run of 3+ characters of the password (and of its encoded form) that is not plain punctuation.
  const forms = [password, encodeURIComponent(password), decodeURIComponentSafe(password)];
  const out = new Set<string>();
  for (const f of forms) for (let i = 0; i + 3 <= f.length; i++) out.add(f.slice(i, i + 3));
  return [...out].filter((s) => /[a-z0-9ñü]{2}/i.test(s));
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

describe('core: URLs with credentials', () => {
  for (const scheme of SCHEMES) {
    for (const password of PASSWORDS) {
      it(`${scheme}: a password written \`${password}\` is never shown`, () => {
        for (const raw of [`${scheme}://user:${password}@host.example:8080/team/x`, `${scheme}://tok${password}@host.example/x?token=sec${password}#frag`]) {
          const shown = displayUrl(raw);
          for (const f of fragments(password)) expect(shown, `${raw} → ${shown}`).to.not.include(f);
          expect(shown).to.not.include('user');
          expect(shown).to.not.include('token=');
          expect(shown).to.not.include('frag');
          expect(hasUrlCredentials(raw)).to.equal(true);
        }
      });
    }
  }

  it('shows scheme, host, port and path; a query as ?…', () => {
    expect(displayUrl('http://u:p@127.0.0.1:18480/team')).to.equal('http://127.0.0.1:18480/team');
    expect(displayUrl('https://cache.example/team/?token=abc')).to.equal('https://cache.example/team?…');
    expect(displayUrl('s3://bucket/prefix/')).to.equal('s3://bucket/prefix');
    expect(displayUrl('file:///srv/cache')).to.equal('file:///srv/cache');
    expect(displayUrl('../shared/cache')).to.equal('../shared/cache');
    expect(displayUrl('ftp://user:pw@host/x')).to.equal('ftp://host/x');
  });

  it('parses credentials with the URL parser: `@` and `:` in a password, percent-encoding decoded', () => {
    const a = parseUrl('https://alice:p@ss:w0rd@cache.example/team?token=1');
    expect(a.ok).to.equal(true);
    if (!a.ok) return;
    expect([a.user, a.password]).to.deep.equal(['alice', 'p@ss:w0rd']);
    expect(a.url.href).to.equal('https://cache.example/team?token=1');
    const b = parseUrl('http://bob:a%2Fb%40c%3Ad@127.0.0.1:1/x');
    expect(b.ok && [b.user, b.password]).to.deep.equal(['bob', 'a/b@c:d']);
  });

  it('refuses the ambiguous form (an `@` after `/`, `?` or `#`), never guessing where a request goes', () => {
    for (const raw of ['https://bob:2024/secret@host/x', 'https://host/export?user=me@corp.example', 'http://u:p#w@h/x', 'http://u:p\\w@h/x']) {
      const r = parseUrl(raw);
      expect(r.ok, raw).to.equal(false);
      if (!r.ok) expect(r.hint).to.include('%40');
    }
    expect(parseUrl('http://host:port/x').ok).to.equal(false);
    expect(parseUrl('not a url').ok).to.equal(false);
  });
});

describe('core: printable', () => {
  it('escapes ESC sequences, CR, BEL, backspace, DEL, C1 (8-bit CSI) and bidi overrides in a line', () => {
    const evil = 'a\x1b]52;c;ZXZpbA==\x07b\x1b[2Jc\rd\x08e\x7ff\x9b31mg\u202eh\u2028i\nj\tk';
    const out = printable(evil);
    expect(out).to.equal('a\\x1b]52;c;ZXZpbA==\\x07b\\x1b[2Jc\\x0dd\\x08e\\x7ff\\x9b31mg\\u202eh\\u2028i\\x0aj\\x09k');
    // eslint-disable-next-line no-control-regex -- looking for control characters
    expect(out).to.not.match(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2028]/);
  });

  it('in a log: newlines and tabs stay, CRLF becomes LF, colours are dropped, every other control is escaped', () => {
    const out = printable('ok\r\n\x1b[31mred\x1b[0m\tx\rfake ok\x1b[1A\x1b]0;title\x07\n', 'log');
    expect(out).to.equal('ok\nred\tx\\x0dfake ok\\x1b[1A\\x1b]0;title\\x07\n');
  });
});
