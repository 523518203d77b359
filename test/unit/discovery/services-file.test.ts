// The VM advertiser's services file: validation with located errors, safe argv expansion.
import { expect } from 'chai';
import { parseServicesText, expandCommand } from '../../../src/discovery/services-file.ts';
import { ownerService } from '../../../src/discovery/advertiser.ts';
import { checkArgs } from '../../../src/discovery/device-server.ts';
import { UpnpError } from '../../../src/discovery/types.ts';
import { InputError } from '../../../src/common/errors.ts';

const ok = {
  services: [{
    serviceType: 'urn:example-org:service:Web:1',
    actions: [{ name: 'Restart', arguments: [{ name: 'Mode', allowedValues: ['soft', 'hard'] }], command: ['/usr/sbin/web', '--mode={Mode}'] }],
  }],
};

function problems(text: string): { line?: number; column?: number; message: string }[] {
  try {
    parseServicesText(text, 'svc.json');
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return (err as InputError).problems.map((p) => ({ line: p.loc.line, column: p.loc.column, message: p.message }));
  }
  throw new Error('expected an InputError');
}

describe('discovery: services file', () => {
  it('accepts a valid file (JSON or YAML)', () => {
    expect(parseServicesText(JSON.stringify(ok), 'svc.json')).to.deep.equal(ok);
    const yaml = 'services:\n  - serviceType: urn:example-org:service:Web:1\n    actions:\n      - name: Ping\n        command: [ping, -c1, 198.18.6.1]\n';
    expect(parseServicesText(yaml, 'svc.yaml').services[0]!.actions[0]!.command).to.deep.equal(['ping', '-c1', '198.18.6.1']);
  });

  it('names line and column of schema problems', () => {
    const text = JSON.stringify({ services: [{ serviceType: 'not-a-urn', actions: [{ name: 'Go', command: [] }] }] }, null, 2);
    const p = problems(text);
    expect(p.map((x) => x.message).join('\n')).to.match(/serviceType: must match pattern/).and.match(/command: must NOT have fewer than 1 items/);
    const st = p.find((x) => /serviceType/.test(x.message))!;
    expect(st.line).to.equal(text.split('\n').findIndex((l) => l.includes('not-a-urn')) + 1);
    expect(st.column).to.be.greaterThan(1);
  });

  it('finds unknown placeholders, duplicate actions, implicit-argument clashes and JSON syntax errors', () => {
    const bad = structuredClone(ok) as any;
    bad.services[0].actions.push({ name: 'Restart', command: ['x', '{Nope}'] });
    bad.services[0].actions[0].arguments.push({ name: 'Output' });
    const msgs = problems(JSON.stringify(bad, null, 1)).map((x) => x.message).join('\n');
    expect(msgs).to.match(/must NOT be valid/); // Output is reserved
    const dup = structuredClone(ok) as any;
    dup.services[0].actions.push({ name: 'Restart', command: ['x', '{Nope}'] });
    const d = problems(JSON.stringify(dup, null, 1)).map((x) => x.message);
    expect(d).to.include('action Restart is listed twice');
    expect(d).to.include('{Nope} is not an argument of Restart');
    const syntax = problems('{\n  "services": [\n    {,}\n  ]\n}');
    expect(syntax[0]!.line).to.equal(3);
  });

  it('expands arguments inside argv elements only (no shell, no splitting)', () => {
    const argv = expandCommand(['/bin/echo', 'a={A}', '{B}'], { A: 'x y; rm -rf /', B: '$(id)' });
    expect(argv).to.deep.equal(['/bin/echo', 'a=x y; rm -rf /', '$(id)']);
  });

  it('placeholders name the caller\'s own arguments only: never constructor, __proto__ or toString of Object', () => {
    const args = { A: 'x' } as Record<string, string>;
    expect(expandCommand(['/bin/echo', '{constructor}', '{__proto__}', '{toString}', '{A}'], args)).to.deep.equal(['/bin/echo', '{constructor}', '{__proto__}', '{toString}', 'x']);
    expect(expandCommand(['/bin/echo', 'c={constructor}'], { constructor: 'mine' })).to.deep.equal(['/bin/echo', 'c=mine']);
    // An argument named like an Object property is not "given" unless the caller gave it.
    const spec = { name: 'Go', arguments: [{ name: 'constructor', direction: 'in' as const, relatedStateVariable: 'V' }] };
    expect(() => checkArgs(spec, [], {})).to.throw(UpnpError, /missing constructor/);
  });

  it('a value that would start an argv element with "-" is refused (600), unless a "--" came before', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as UpnpError).code;
      }
      return 0;
    };
    expect(code(() => expandCommand(['/usr/bin/web', '{Mode}'], { Mode: '--output=/etc/passwd' }))).to.equal(600);
    expect(code(() => expandCommand(['/bin/rm', '{Path}'], { Path: '-rf' }))).to.equal(600);
    expect(expandCommand(['/usr/bin/web', '--mode={Mode}'], { Mode: '-x' })).to.deep.equal(['/usr/bin/web', '--mode=-x']);
    expect(expandCommand(['/bin/rm', '--', '{Path}'], { Path: '-rf' })).to.deep.equal(['/bin/rm', '--', '-rf']);
  });

  it('the advertiser answers such a value with fault 600 and runs nothing', async () => {
    let ran = 0;
    const svc = ownerService({ serviceType: 'urn:x-org:service:Web:1', actions: [{ name: 'Go', arguments: [{ name: 'P' }], command: ['/bin/ls', '{P}'] }] }, 0, async () => {
      ran++;
      return { stdout: '', stderr: '', code: 0 };
    });
    const err = await svc.invoke('Go', { P: '--help' }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UpnpError);
    expect((err as UpnpError).code).to.equal(600);
    expect(ran).to.equal(0);
  });

  it('the program (first element) cannot be an argument', () => {
    const bad = structuredClone(ok) as any;
    bad.services[0].actions[0].command = ['{Mode}', 'x'];
    expect(problems(JSON.stringify(bad)).map((p) => p.message)).to.include('the program (first element) cannot hold an argument');
  });
});
