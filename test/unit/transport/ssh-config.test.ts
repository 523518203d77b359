import { expect } from 'chai';
import os from 'node:os';
import path from 'node:path';
import { resolveSshConfig } from '../../../src/transport/ssh-config.ts';

const CONFIG = `
# global section applies to every host
ServerAliveInterval 30

Host lab1 lab1.example
  HostName 10.0.0.11
  User admin
  Port 2201
  IdentityFile ~/.ssh/lab_%h

Host lab*
  User ignored-because-first-wins
  IdentityFile /keys/lab_common

Host *.internal !secret.internal
  HostName %h.corp
  Port=2222

Match user bob
  HostName never-used

Host *
  User fallback
`;

describe('ssh config', () => {
  it('resolves a matching Host block; the first value obtained wins', () => {
    const r = resolveSshConfig(CONFIG, 'lab1');
    expect(r.matched).to.equal(true);
    expect(r.hostName).to.equal('10.0.0.11');
    expect(r.user).to.equal('admin');
    expect(r.port).to.equal(2201);
    expect(r.identityFiles).to.deep.equal([path.join(os.homedir(), '.ssh', 'lab_10.0.0.11'), '/keys/lab_common']);
  });

  it('matches wildcard patterns, honours negation and expands %h', () => {
    const r = resolveSshConfig(CONFIG, 'db.internal');
    expect(r).to.deep.include({ matched: true, hostName: 'db.internal.corp', port: 2222, user: 'fallback' });
    const secret = resolveSshConfig(CONFIG, 'secret.internal');
    expect([secret.matched, secret.hostName, secret.port]).to.deep.equal([false, undefined, undefined]);
  });

  it('does not count `Host *` alone as a match, and skips Match blocks', () => {
    const r = resolveSshConfig(CONFIG, '198.18.0.11');
    expect(r.matched).to.equal(false);
    expect(r.hostName).to.equal(undefined); // not the Match block's value
  });

  it('matches case-insensitive keywords and quoted values', () => {
    const r = resolveSshConfig('host "q1"\n  HOSTNAME "10.9.9.9"\n', 'q1');
    expect(r).to.deep.include({ matched: true, hostName: '10.9.9.9' });
  });

  it('reads HostKeyAlias and UserKnownHostsFile (expanded), the first value winning', () => {
    const r = resolveSshConfig('Host lab\n  HostKeyAlias lab-key\n  UserKnownHostsFile ~/kh_%h /etc/kh2\nHost *\n  HostKeyAlias other\n', 'lab');
    expect(r.hostKeyAlias).to.equal('lab-key');
    expect(r.userKnownHostsFiles).to.deep.equal([path.join(os.homedir(), 'kh_lab'), '/etc/kh2']);
    expect(r.unsupported).to.equal(undefined);
  });

  it('reports what it cannot follow: ProxyJump, ProxyCommand, a bad Port, no known_hosts file', () => {
    const un = (text: string) => resolveSshConfig(`Host lab\n${text}\n`, 'lab').unsupported;
    expect(un('  ProxyJump bastion')).to.match(/^ProxyJump bastion \(ediv does not support it/);
    expect(un('  ProxyCommand nc %h %p')).to.match(/^ProxyCommand nc %h %p /);
    expect(un('  ProxyJump none\n  ProxyCommand nc %h %p')).to.equal(undefined); // one setting: the first wins
    expect(un('  Port 99999')).to.match(/^Port 99999 \(not a port number\)/);
    expect(un('  Port 0')).to.match(/^Port 0 /);
    expect(un('  UserKnownHostsFile /dev/null')).to.match(/^UserKnownHostsFile \/dev\/null \(ediv always verifies/);
    expect(un('  UserKnownHostsFile none')).to.match(/^UserKnownHostsFile none /);
    expect(resolveSshConfig('Host lab\n  Port 99999\n', 'lab').port).to.equal(undefined);
  });
});
