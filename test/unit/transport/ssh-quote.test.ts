import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { shQuote, shQuoteArgv } from '../../../src/transport/ssh-quote.ts';

const HOSTILE = [
  "a'b; rm -rf /tmp/x $(id)",
  "'",
  "'''",
  '',
  '$HOME ${PATH} `id` $(id) $((1+1))',
  '"double" \\ \\\\ \\n',
  'new\nline\r\ttab',
  '*?[!a] ~root # ! & | ; < > ( ) { } \x7f',
  '-e',
  'ünïcødé ☃ 𝄞',
  "end with quote'",
];

describe('ssh-quote', () => {
  it('wraps every argument in single quotes, escaping embedded quotes', () => {
    expect(shQuote('plain')).to.equal("'plain'");
    expect(shQuote('')).to.equal("''");
    expect(shQuote("a'b")).to.equal(`'a'\\''b'`);
    expect(shQuoteArgv(['echo', 'a b'])).to.equal("'echo' 'a b'");
  });

  it('round-trips hostile strings exactly through real POSIX shells', () => {
    for (const shell of ['/bin/sh', '/bin/bash']) {
      const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shQuoteArgv(HOSTILE)}`], { encoding: 'utf8' });
      expect(out.split('\0').slice(0, -1), shell).to.deep.equal(HOSTILE);
    }
  });

  it('refuses what no shell word can carry', () => {
    expect(() => shQuote('a\0b')).to.throw(/NUL/);
    expect(() => shQuoteArgv([])).to.throw(/empty/);
  });
});
