// ~/.ssh/config semantics (src/transport/ssh-config.ts, ssh-target.ts): small config files in a
// scratch home directory; where OpenSSH's own `ssh -G` is installed, the same files are checked
// against it too.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { expandPathSetting, parseProxyJump, resolveSshConfig, SshConfigError } from '../../../src/transport/ssh-config.ts';
import type { SshConfigQuery, SshConfigResult } from '../../../src/transport/ssh-config.ts';
import { resolveTarget } from '../../../src/transport/ssh-target.ts';

const me = os.userInfo().username;

describe('ssh config (OpenSSH semantics)', () => {
  let home: string;
  let cfg: string;
  beforeEach(() => {
    home = mkdtempSync(path.join(os.tmpdir(), 'ediv-sshcfg-'));
    mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
    cfg = path.join(home, '.ssh', 'config');
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  /** Writes a file under the scratch home (relative to ~/.ssh unless absolute). */
  const write = (name: string, text: string): string => {
    const f = path.isAbsolute(name) ? name : path.join(home, '.ssh', name);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text, { mode: 0o600 });
    chmodSync(f, 0o600);
    return f;
  };
  const resolve = (host: string, q: Partial<SshConfigQuery> = {}, file = cfg): SshConfigResult =>
    resolveSshConfig(file, { host, defaultUser: me, ...q }, { home })!;
  const error = (host: string, q: Partial<SshConfigQuery> = {}): string => {
    try {
      resolve(host, q);
    } catch (err) {
      expect(err).to.be.instanceOf(SshConfigError);
      return (err as Error).message;
    }
    return expect.fail('expected an SshConfigError');
  };

  describe('Host patterns and the first value', () => {
    it('takes the first value obtained for each keyword; IdentityFile accumulates, once each', () => {
      write('config', [
        '# global section applies to every host',
        'ServerAliveInterval 30',
        'Host lab1 lab1.example',
        '  HostName 10.0.0.11',
        '  User admin',
        '  Port 2201',
        '  IdentityFile ~/.ssh/lab',
        'Host lab*',
        '  User ignored-because-first-wins',
        '  HostName ignored',
        '  IdentityFile /keys/lab_common',
        '  IdentityFile ~/.ssh/lab',
        'Host *',
        '  User fallback',
        '  Port=2222',
      ].join('\n'));
      const r = resolve('lab1');
      expect(r).to.deep.include({ matched: true, hostName: '10.0.0.11', user: 'admin', port: 2201 });
      expect(r.identityFiles.map((l) => [l.value, l.line])).to.deep.equal([['~/.ssh/lab', 7], ['/keys/lab_common', 11]]);
      expect(resolve('lab2')).to.deep.include({ matched: true, hostName: 'ignored', user: 'ignored-because-first-wins', port: 2222 });
    });

    it('matches * and ? as OpenSSH, a negated pattern excluding the line, patterns separated by blanks only', () => {
      write('config', [
        'Host *.internal !secret.internal',
        '  HostName %h.corp',
        'Host db?',
        '  Port 2000',
        'Host a,b',
        '  User comma',
      ].join('\n'));
      expect(resolve('db.internal')).to.deep.include({ matched: true, hostName: 'db.internal.corp' });
      expect(resolve('secret.internal')).to.deep.include({ matched: false });
      expect(resolve('secret.internal').hostName).to.equal(undefined);
      expect(resolve('db1').port).to.equal(2000);
      expect(resolve('db12').port).to.equal(undefined); // ? is exactly one character
      expect(resolve('db').port).to.equal(undefined);
      expect(resolve('a').user).to.equal(undefined); // a comma is part of a Host pattern
    });

    it('matches Host patterns case-sensitively against the name as given; %h is lower-cased (as OpenSSH)', () => {
      write('config', 'Host kofy Kofy2\n  HostName %h.lab\n');
      expect(resolve('kofy')).to.deep.include({ matched: true, hostName: 'kofy.lab' });
      expect(resolve('Kofy2')).to.deep.include({ matched: true, hostName: 'kofy2.lab' });
      expect(resolve('KOFY').matched).to.equal(false);
      expect(resolve('kofy2').matched).to.equal(false);
    });

    it('does not count a lone `Host *` (or the global section) as naming the host', () => {
      write('config', 'User everyone\nHost *\n  Port 2222\n');
      expect(resolve('198.18.0.11')).to.deep.include({ matched: false, user: 'everyone', port: 2222 });
    });

    it('reads keywords in any case, `=` separators and quoted values', () => {
      write('config', 'host "q1"\n  HOSTNAME = "10.9.9.9"\n  identityfile "~/.ssh/my key"\n  user=bob # a comment\n');
      const r = resolve('q1');
      expect(r).to.deep.include({ matched: true, hostName: '10.9.9.9', user: 'bob' });
      expect(r.identityFiles[0]!.value).to.equal('~/.ssh/my key');
    });

    it('lets the values given before the file (cluster file user and port, ssh -l/-p) win', () => {
      write('config', 'Host lab\n  User admin\n  Port 2201\nMatch user root\n  HostName root-only\n');
      const r = resolve('lab', { user: 'root', port: 22 });
      expect([r.user, r.port, r.hostName]).to.deep.equal([undefined, undefined, 'root-only']);
    });
  });

  describe('Include', () => {
    it('reads files relative to ~/.ssh, glob wildcards in lexical order, nested', () => {
      write('config', 'Include conf.d/*.conf\nHost *\n  User last\n');
      write('conf.d/20-b.conf', 'Host lab\n  Port 2020\n  IdentityFile /k/b\n');
      write('conf.d/10-a.conf', 'Host lab\n  IdentityFile /k/a\n  Include ~/.ssh/nested/inner\n');
      write('conf.d/30-c.txt', 'Host lab\n  Port 3030\n');
      write('conf.d/.hidden.conf', 'Host lab\n  Port 4040\n');
      write('nested/inner', 'Host *\n  IdentityFile /k/inner\n');
      const r = resolve('lab');
      expect(r.identityFiles.map((l) => l.value)).to.deep.equal(['/k/a', '/k/inner', '/k/b']);
      expect(r.port).to.equal(2020);
      expect(r.user).to.equal('last');
      expect(r.files.map((f) => path.relative(home, f))).to.deep.equal([
        '.ssh/config', '.ssh/conf.d/10-a.conf', '.ssh/nested/inner', '.ssh/conf.d/20-b.conf',
      ]);
    });

    it('includes conditionally inside a Host block; a Host line in the included file does not change the includer', () => {
      write('config', [
        'Host lab',
        '  Include lab.conf',
        '  User lab-user',
        'Host other',
        '  Include other.conf',
      ].join('\n'));
      write('lab.conf', 'Host nothing-matches\n  Port 1\n');
      write('other.conf', 'HostName from-other\n');
      const r = resolve('lab');
      expect(r).to.deep.include({ user: 'lab-user' }); // the included Host line did not end the lab block
      expect(r.port).to.equal(undefined);
      expect(r.hostName).to.equal(undefined); // other.conf was read for another host's block only
      expect(resolve('other').hostName).to.equal('from-other');
    });

    it('skips a missing file, a pattern matching nothing and a directory; brackets and ? in globs', () => {
      write('config', 'Include missing /nowhere/*.conf d\nInclude [ab]?.conf\nHost lab\n  HostName ok\n');
      mkdirSync(path.join(home, '.ssh', 'd'));
      write('a1.conf', 'Host lab\n  Port 1111\n');
      write('c1.conf', 'Host lab\n  Port 3333\n');
      expect(resolve('lab')).to.deep.include({ hostName: 'ok', port: 1111 });
    });

    it('refuses Include loops past 16 levels, naming the file and line', () => {
      write('config', 'Host *\n\n  Include config\n');
      expect(error('lab')).to.equal(`${cfg}:3: Include nested more than 16 levels deep`);
    });

    it('refuses files that are not regular, too large, or writable by others', () => {
      write('config', 'Include fifo\n');
      execFileSync('mkfifo', [path.join(home, '.ssh', 'fifo')]);
      expect(error('lab')).to.equal(`${cfg}:1: ${path.join(home, '.ssh', 'fifo')} is not a regular file`);
      write('config', 'Include big\n');
      write('big', '#'.repeat(1024 * 1024 + 1));
      expect(error('lab')).to.match(/config:1: .*big is over 1024 KiB/);
      write('config', 'Include open\n');
      chmodSync(write('open', 'Port 1\n'), 0o666);
      expect(error('lab')).to.match(/config:1: .*open is not used: it is writable by others/);
      chmodSync(cfg, 0o646);
      expect(error('lab')).to.equal(`${cfg}: ${cfg} is not used: it is writable by others (chmod o-w ${cfg})`);
    });

    it('checks every line of every included file, even for blocks that do not apply', () => {
      write('config', 'Host other\n  Include bad.conf\n');
      write('bad.conf', '\n\nPort 99999\n');
      expect(error('lab')).to.equal(`${path.join(home, '.ssh', 'bad.conf')}:3: Port 99999: not a port number (1-65535)`);
    });

    it('follows a symbolic link to a config file', () => {
      const real = write(path.join(home, 'dotfiles', 'ssh-lab'), 'Host lab\n  HostName linked\n');
      symlinkSync(real, path.join(home, '.ssh', 'lab.conf'));
      write('config', 'Include lab.conf\n');
      expect(resolve('lab').hostName).to.equal('linked');
    });
  });

  describe('Match', () => {
    it('Match host sees the HostName obtained so far; originalhost the name as given', () => {
      write('config', [
        'Host alias',
        '  HostName Real.Example',
        'Match host real.example',
        '  User by-hostname',
        'Match originalhost ALIAS',
        '  Port 2022',
        'Match host alias',
        '  IdentityFile /never',
      ].join('\n'));
      const r = resolve('alias');
      expect(r).to.deep.include({ hostName: 'Real.Example', user: 'by-hostname', port: 2022, matched: true });
      expect(r.identityFiles).to.deep.equal([]);
    });

    it('Match user sees the user given first, else the User obtained, else the default', () => {
      write('config', 'Host lab\n  User alice\nMatch user alice,bob\n  Port 1001\nMatch user root\n  Port 1002\n');
      expect(resolve('lab').port).to.equal(1001);
      expect(resolve('lab', { user: 'root' }).port).to.equal(1002);
      expect(resolve('other', { defaultUser: 'root' }).port).to.equal(1002);
      expect(resolve('other', { defaultUser: 'Root' }).port).to.equal(undefined); // user names are case-sensitive
    });

    it('Match all, localuser and negated criteria', () => {
      write('config', [
        'Match !host lab*',
        '  User not-lab',
        `Match localuser ${me} host lab1`,
        '  Port 1111',
        'Match all',
        '  HostKeyAlias everyone',
      ].join('\n'));
      const lab = resolve('lab1');
      expect([lab.user, lab.port, lab.hostKeyAlias, lab.matched]).to.deep.equal([undefined, 1111, 'everyone', true]);
      const db = resolve('db');
      expect([db.user, db.port, db.hostKeyAlias, db.matched]).to.deep.equal(['not-lab', undefined, 'everyone', false]);
    });

    it('Match final makes a second pass in which Host lines match the HostName', () => {
      write('config', [
        'Host alias',
        '  HostName real.example',
        'Match final host real.example',
        '  User final-user',
        'Host real.example',
        '  Port 2222',
      ].join('\n'));
      expect(resolve('alias')).to.deep.include({ hostName: 'real.example', user: 'final-user', port: 2222 });
      write('config', 'Host alias\n  HostName real.example\nHost real.example\n  Port 2222\n');
      expect(resolve('alias').port).to.equal(undefined); // no final pass without Match final
    });

    it('refuses a Match exec block that would set a setting ediv uses, naming its file and line', () => {
      write('config', 'Host lab\n  Port 2201\n\nMatch host lab exec "test -e /tmp/on-vpn"\n  HostName vpn.example\n');
      const r = resolve('lab');
      expect(r.matched).to.equal(true);
      expect(r.refusal).to.equal(
        `${cfg}:4: Match exec test -e /tmp/on-vpn: ediv never runs a command from an ssh config file (docs/security.md), ` +
          'and its block sets HostName (line 5): make the block not apply to this host (a criterion before it that does not match), or do not use this ssh config',
      );
    });

    it('skips a Match exec block when it cannot matter: an earlier criterion fails, or it sets nothing ediv uses', () => {
      write('config', [
        'Match host other exec "false"',
        '  HostName never',
        'Match exec "gpg-connect-agent updatestartuptty /bye"',
        '  ForwardAgent yes',
        'Host lab',
        '  Port 2201',
        'Match exec "true"',
        '  Port 9999',
      ].join('\n'));
      const r = resolve('lab');
      expect(r.refusal).to.equal(undefined); // the last block's Port cannot win over 2201
      expect(r.port).to.equal(2201);
    });

    it('refuses an Include inside a Match exec block, and criteria of newer OpenSSH it cannot evaluate', () => {
      write('config', 'Host lab\n  Port 1\nMatch exec true\n  Include x.conf\n');
      expect(resolve('lab').refusal).to.match(new RegExp(`^${cfg}:3: Match exec true: .*its block Includes x\\.conf \\(line 4\\)`));
      write('config', 'Match host lab localnetwork 10.0.0.0/8\n  User vpn\n');
      expect(resolve('lab').refusal).to.match(new RegExp(`^${cfg}:1: Match localnetwork is not supported by ediv, and its block sets User \\(line 2\\)`));
    });

    it('errors on bad Match lines: an unknown criterion, a missing argument, all combined', () => {
      write('config', '\nMatch colour blue\n');
      expect(error('lab')).to.equal(`${cfg}:2: Match: unknown criterion colour`);
      write('config', 'Match host\n');
      expect(error('lab')).to.equal(`${cfg}:1: Match host has no argument`);
      write('config', 'Match all host lab\n');
      expect(error('lab')).to.equal(`${cfg}:1: Match: all must be alone, or follow only canonical or final`);
    });
  });

  describe('values and tokens', () => {
    it('expands %h in HostName; ~, %d %u %h %r %p %n %k %%, and ${ENV} in IdentityFile', () => {
      process.env.EDIV_TEST_KEYS = '/env/keys';
      try {
        write('config', 'Host lab\n  HostName %h.example\n  IdentityFile ~/.ssh/%h_%r_%p_%n_%k_%u_%%\n  IdentityFile ${EDIV_TEST_KEYS}/%d\n');
        const r = resolve('lab');
        expect(r.hostName).to.equal('lab.example');
        const t = { h: r.hostName!, n: 'lab', p: 2201, r: 'root' };
        expect(r.identityFiles.map((l) => expandPathSetting(l, t, { home }))).to.deep.equal([
          path.join(home, '.ssh', `lab.example_root_2201_lab_lab_${me}_%`),
          `/env/keys/${home}`,
        ]);
      } finally {
        delete process.env.EDIV_TEST_KEYS;
      }
    });

    it('errors on an unknown token or an unset variable, naming the setting\'s file and line', () => {
      write('config', 'Host lab\n  HostName %z\n');
      expect(error('lab')).to.equal(`${cfg}:2: %z: token %z is not supported here (write %% for a %)`);
      const loc = { value: '${EDIV_NOT_SET}/k', file: cfg, line: 7 };
      expect(() => expandPathSetting(loc, { h: 'h', n: 'h', p: 22, r: 'r' })).to.throw(`${cfg}:7: \${EDIV_NOT_SET}/k: environment variable EDIV_NOT_SET is not set`);
    });

    it('errors on lines that are not right, naming file and line', () => {
      const bad: [string, string][] = [
        ['Host lab\n  HostName a b', '2: HostName: extra arguments at end of line (b); quote a value that holds blanks'],
        ['Host lab\n  HostName "unclosed', '2: cannot parse "HostName \\"unclosed": Unexpected line break at unclosed'],
        ['\n\nUser', '3: User has no value'],
        ['Host', '1: Host has no value'],
        ['= x', '1: not a "Keyword value" line: = x'],
        ['Host other\n  Port 0', '2: Port 0: not a port number (1-65535)'],
        ['Host other\n  ProxyJump a@b@:c:d', '2: ProxyJump a@b@:c:d: jump host "a@b@:c:d": no host name'],
        ['Host other\n  ProxyJump a,,b', '2: ProxyJump a,,b: an empty jump host: no host name'],
        ['Host other\n  ProxyJump a b', '2: ProxyJump: extra arguments at end of line (b); quote a value that holds blanks'],
      ];
      for (const [text, message] of bad) {
        write('config', text + '\n');
        expect(error('lab'), text).to.equal(`${cfg}:${message}`);
      }
    });

    it('refuses ProxyCommand and UserKnownHostsFile none when they apply; ProxyJump and ProxyCommand share one setting', () => {
      const refusal = (text: string) => {
        write('config', `Host lab\n${text}\n`);
        return resolve('lab').refusal;
      };
      expect(refusal('  ProxyCommand nc %h %p')).to.equal(`${cfg}:2: ProxyCommand nc %h %p: ediv never runs a command from an ssh config file (docs/security.md); use ProxyJump`);
      expect(refusal('  ProxyJump none\n  ProxyCommand nc %h %p')).to.equal(undefined);
      expect(refusal('  ProxyCommand none\n  ProxyJump bastion')).to.equal(undefined);
      expect(refusal('  UserKnownHostsFile /dev/null')).to.match(/:2: UserKnownHostsFile \/dev\/null: ediv always verifies host keys/);
      expect(refusal('  UserKnownHostsFile none')).to.match(/:2: UserKnownHostsFile none: /);
      write('config', 'Host lab\n  ProxyCommand none\n  ProxyJump bastion\n');
      expect(resolve('lab').proxyJump).to.equal(undefined);
      write('config', 'Host lab\n  ProxyJump bastion\n  ProxyCommand nc %h %p\n');
      expect(resolve('lab').proxyJump).to.deep.equal({ value: 'bastion', file: cfg, line: 2 });
    });

    it('parses ProxyJump lists: [user@]host[:port], ssh:// URIs, IPv6 in brackets, none', () => {
      expect(parseProxyJump('none')).to.deep.equal([]);
      expect(parseProxyJump('NONE')).to.deep.equal([]);
      expect(parseProxyJump('j1,u@j2:2200,ssh://v@j3:33/,[2001:db8::1]:2022,w@x@y')).to.deep.equal([
        { host: 'j1', text: 'j1' },
        { user: 'u', host: 'j2', port: 2200, text: 'u@j2:2200' },
        { user: 'v', host: 'j3', port: 33, text: 'ssh://v@j3:33/' },
        { host: '2001:db8::1', port: 2022, text: '[2001:db8::1]:2022' },
        { user: 'w@x', host: 'y', text: 'w@x@y' },
      ]);
      expect(parseProxyJump('a:0')).to.equal('jump host "a:0": a bad port (0)');
      expect(parseProxyJump('@a')).to.equal('jump host "@a": an empty user name before @');
    });
  });

  describe('targets: the cluster host and its jump hosts', () => {
    const host = (address: string, ssh: Partial<ClusterHost['ssh']> = {}): ClusterHost => ({
      name: 'host2',
      address,
      ssh: { user: 'root', port: 22, ...ssh },
      trunk: 'eth0',
      cpu: 100,
      labels: {},
      agentCommand: ['ediv'],
      transport: 'ssh',
      driver: 'netns',
    });
    const target = (h: ClusterHost) => resolveTarget(h, { sshConfig: cfg }, { home });
    const hops = (h: ClusterHost) => {
      const t = target(h);
      expect(t.unsupported).to.equal(undefined);
      return [...t.jumps, t].map((x) => `${x.name}=${x.user}@${x.hostName}:${x.port}`);
    };

    it('resolves each jump host through the config, with its own user, port and keys', () => {
      write('config', [
        'Host 10.1.*',
        '  ProxyJump bastion',
        'Host bastion',
        '  HostName 198.51.100.7',
        '  User jumper',
        '  Port 2222',
        '  IdentityFile ~/.ssh/bastion_%h',
        '  HostKeyAlias bastion-key',
      ].join('\n'));
      const t = target(host('10.1.0.2', { identity: '/cluster/key' }));
      expect(t).to.deep.include({ name: 'host2', hostName: '10.1.0.2', user: 'root', port: 22 });
      expect(t.identities).to.deep.equal([{ file: '/cluster/key', explicit: true }]);
      expect(t.jumps).to.have.length(1);
      expect(t.jumps[0]).to.deep.include({
        name: 'bastion', hostName: '198.51.100.7', user: 'jumper', port: 2222, keyHost: 'bastion-key', keyPort: 22, jumps: [],
        identities: [{ file: path.join(home, '.ssh', 'bastion_198.51.100.7'), explicit: false }],
        knownHosts: [path.join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'],
      });
    });

    it('visits a list in order; the last jump host is reached through the ones before it, the first with its own ProxyJump', () => {
      write('config', [
        'Host lab',
        '  HostName 10.2.0.2',
        '  ProxyJump j1,admin@j2:2200',
        'Host j1',
        '  ProxyJump outer',
        'Host j2',
        '  ProxyJump ignored-because-j2-is-reached-through-j1',
        '  HostName 10.2.0.1',
        'Host *',
        '  User anyone',
      ].join('\n'));
      expect(hops(host('lab'))).to.deep.equal([
        'outer=anyone@outer:22',
        'j1=anyone@j1:22',
        'j2=admin@10.2.0.1:2200',
        'host2=anyone@10.2.0.2:22', // the cluster file left the user at its default: the config's User applies
      ]);
    });

    it('expands %h %r in ProxyJump; `ProxyJump none` on the jump host ends a `Host *` chain', () => {
      write('config', 'Host bastion*\n  ProxyJump none\nHost lab*\n  ProxyJump %r@bastion-%h\nHost *\n  ProxyJump bastion-all\n');
      expect(hops(host('lab1', { port: 2201, user: 'admin' }))).to.deep.equal(['bastion-lab1=admin@bastion-lab1:22', 'host2=admin@lab1:2201']);
    });

    it('refuses a ProxyJump loop, naming the line', () => {
      write('config', 'Host lab\n  ProxyJump bastion\nHost *\n  ProxyJump bastion\n');
      expect(target(host('lab')).unsupported).to.equal(
        `${cfg}:4: ProxyJump bastion: reaching bastion leads back to bastion (a loop: exclude the jump host from the block that sets ProxyJump, e.g. Host * !bastion)`,
      );
    });

    it('verifies jump hosts against the cluster file\'s known_hosts pin too', () => {
      write('config', 'Host lab\n  ProxyJump bastion\nHost bastion\n  UserKnownHostsFile ~/.ssh/bastion_hosts\n');
      const t = target(host('lab', { knownHosts: '/cluster/known_hosts' }));
      expect(t.knownHosts).to.deep.equal(['/cluster/known_hosts']);
      expect(t.jumps[0]!.knownHosts).to.deep.equal(['/cluster/known_hosts']);
      const free = target(host('lab'));
      expect(free.jumps[0]!.knownHosts).to.deep.equal([path.join(home, '.ssh', 'bastion_hosts'), '/etc/ssh/ssh_known_hosts']);
    });

    it('ignores a file that names the host only through `Host *`, ProxyJump included', () => {
      write('config', 'Host *\n  ProxyJump bastion\n  User someone\n');
      const t = target(host('198.18.0.11'));
      expect(t).to.deep.include({ user: 'root', jumps: [] });
      expect(t.sshConfig).to.equal(undefined);
    });

    it('carries a refusal or a bad line to the connection, with file and line', () => {
      write('config', 'Host lab\n  ProxyCommand nc %h %p\n');
      expect(target(host('lab')).unsupported).to.match(new RegExp(`^${cfg}:2: ProxyCommand nc %h %p: `));
      write('config', 'Host lab\n  ProxyJump bastion\nHost bastion\n  ProxyCommand nc %h %p\n');
      expect(target(host('lab')).unsupported).to.match(new RegExp(`^${cfg}:4: ProxyCommand nc %h %p: .*\\(for jump host bastion\\)$`));
      write('config', 'Host lab\n  Port 70000\n');
      expect(target(host('lab')).unsupported).to.equal(`${cfg}:2: Port 70000: not a port number (1-65535)`);
    });
  });

  // The same files, read by OpenSSH itself (`ssh -G` prints the configuration it would use and
  // connects nowhere). Only files without relative Includes: ssh resolves those in the real ~/.ssh.
  describe('against OpenSSH\'s ssh -G', function () {
    const hasSsh = spawnSync('ssh', ['-V']).status === 0;
    before(function () {
      if (!hasSsh) this.skip();
    });
    const sshG = (file: string, host: string, args: string[] = []): Record<string, string> => {
      const out = execFileSync('ssh', ['-G', '-F', file, ...args, host], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const kv: Record<string, string> = {};
      for (const l of out.split('\n')) {
        const i = l.indexOf(' ');
        if (i > 0 && !(l.slice(0, i) in kv)) kv[l.slice(0, i)] = l.slice(i + 1);
      }
      return kv;
    };
    /** For each case (host, ssh's options, the same as a query): ediv obtains what `ssh -G` does. */
    const expectAsSshG = (cases: [string, string[], Partial<SshConfigQuery>][]): void => {
      for (const [h, args, q] of cases) {
        const g = sshG(cfg, h, args);
        const r = resolve(h, q);
        const ours = {
          hostname: r.hostName ?? h.toLowerCase(),
          user: q.user ?? r.user ?? me,
          port: String(q.port ?? r.port ?? 22),
          hostkeyalias: r.hostKeyAlias,
          proxyjump: r.proxyJump?.value,
        };
        expect(ours, `${h} ${args.join(' ')}`).to.deep.equal({ hostname: g.hostname, user: g.user, port: g.port, hostkeyalias: g.hostkeyalias, proxyjump: g.proxyjump });
      }
    };

    it('obtains the same HostName, User, Port, HostKeyAlias and ProxyJump', () => {
      const inc = write(path.join(home, 'inc', 'a.conf'), 'Host *.lab\n  HostKeyAlias alias-%h\n  Port 2300\n');
      write('config', [
        'Host Upper',
        '  User never',
        'Host web? *.lab !db.lab',
        '  User web',
        `  Include ${path.join(home, 'inc', '*.conf')}`,
        'Host alias',
        '  HostName real.example',
        'Match final host real.example',
        '  User final',
        'Host real.example',
        '  Port 2022',
        'Match originalhost ALIAS user final',
        '  HostKeyAlias orig',
        'Match host db.lab',
        '  ProxyJump j1,u@j2:2200',
        'Match !host web1,x.lab',
        '  Port 1999',
        'Match all',
        '  User everyone',
      ].join('\n'));
      expect(inc).to.be.a('string');
      const cases: [string, string[], Partial<SshConfigQuery>][] = [
        ['web1', [], {}], ['web12', [], {}], ['UPPER', [], {}], ['x.lab', [], {}], ['db.lab', [], {}],
        ['alias', [], {}], ['ALIAS', [], {}], ['other', ['-l', 'bob', '-p', '2500'], { user: 'bob', port: 2500 }],
      ];
      expectAsSshG(cases);
    });

    it('agrees on conditional Includes, negations and the order of Match and HostName', () => {
      const incDir = path.join(home, 'inc2');
      write(path.join(incDir, 'lab.conf'), 'HostName lab-from-include\nHost other\n  Port 1234\nMatch host lab-from-include\n  User inc-user\n');
      write(path.join(incDir, 'never.conf'), 'HostName never\nMatch host *\n  Port 4321\n');
      write('config', [
        'Host lab lab2',
        `  Include ${incDir}/lab.conf`,
        '  Port 2201',
        'Host nothing',
        `  Include ${incDir}/never.conf`,
        'Host * !lab2',
        '  HostKeyAlias not-lab2',
        'Match !originalhost lab* user root,bob',
        '  ProxyJump bastion',
        'Match host lab-from-include',
        '  ProxyJump jump-for-lab',
      ].join('\n'));
      const cases: [string, string[], Partial<SshConfigQuery>][] = [
        ['lab', [], {}], ['lab2', [], {}], ['other', [], {}], ['other', ['-l', 'bob'], { user: 'bob' }], ['other', ['-l', 'eve'], { user: 'eve' }],
      ];
      expectAsSshG(cases);
      expect(resolve('other').matched).to.equal(false); // never.conf's `Match host *` was read for another block only
    });
  });
});
