// Pure parts of the container driver: the root file system a VM gets, its capability bounding
// set, and its cgroups on v1 and v2 layouts (built as plain directories here).
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { filesystemOf, lowerDirOf } from '../../../src/host-agent/drivers/container/index.ts';
import { boundingSetArgs, droppedCapabilityNumbers, DROPPED_CAPABILITIES } from '../../../src/host-agent/drivers/container/capabilities.ts';
import { hiddenStateDir, initBinary } from '../../../src/host-agent/drivers/container/machine.ts';
import { cgroupDirs, cgroupUsage, createCgroup, detectCgroups } from '../../../src/host-agent/drivers/container/cgroups.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

const vmWith = (inner: string) =>
  parseScenarioText(
    `<vnx><global><version>2.0</version><scenario_name>c</scenario_name></global>
     <net name="n" mode="virtual_bridge"/><vm name="a" type="lxc">${inner}<if id="1" net="n"/></vm></vnx>`,
    'c.xml',
  ).vms[0]!;

describe('container driver: root file system', () => {
  it('reads <filesystem> from the VM', () => {
    expect(filesystemOf(vmWith('<filesystem type="cow">/usr/share/vnx/filesystems/rootfs_lxc</filesystem>'))).to.equal('/usr/share/vnx/filesystems/rootfs_lxc');
    expect(filesystemOf(vmWith(''))).to.equal(undefined);
  });

  it('uses a <filesystem> that is a root-file-system directory here, else the host’s root', () => {
    const vm = vmWith('<filesystem type="cow">/srv/rootfs_lxc/</filesystem>');
    expect(lowerDirOf(vm, (p) => p === '/srv/rootfs_lxc/bin/sh')).to.equal('/srv/rootfs_lxc');
    expect(lowerDirOf(vm, () => false)).to.equal('/');
    expect(lowerDirOf(vmWith('<filesystem type="cow">relative/rootfs</filesystem>'), () => true)).to.equal('/');
    expect(lowerDirOf(vmWith(''), () => true)).to.equal('/');
  });

  it('never passes a path that could add overlayfs mount options', () => {
    for (const bad of ['/srv/a,upperdir=/etc', '/srv/a:b', '/srv/a b', '/srv/a\\b']) {
      expect(lowerDirOf(vmWith(`<filesystem type="cow">${bad}</filesystem>`), () => true), bad).to.equal('/');
    }
  });
});

describe('container driver: capabilities', () => {
  it('drops module loading, raw I/O and device nodes, keeps what routing daemons need', () => {
    expect(DROPPED_CAPABILITIES).to.include.members(['sys_module', 'sys_rawio', 'mknod', 'sys_time', 'sys_boot']);
    for (const kept of ['net_admin', 'net_raw', 'net_bind_service', 'setuid', 'setgid', 'sys_admin']) {
      expect(DROPPED_CAPABILITIES as readonly string[]).to.not.include(kept);
    }
    const [flag, list] = boundingSetArgs();
    expect(flag).to.equal('--bounding-set');
    expect(list!.split(',').every((c) => c.startsWith('-'))).to.equal(true);
  });

  it('gives the launcher each dropped capability by its kernel number', () => {
    const numbers = droppedCapabilityNumbers();
    expect(numbers).to.have.length(DROPPED_CAPABILITIES.length);
    expect(new Set(numbers).size).to.equal(numbers.length);
    // linux/capability.h: CAP_SYS_MODULE 16, CAP_SYS_RAWIO 17, CAP_MKNOD 27, CAP_BPF 39
    const byName = Object.fromEntries(DROPPED_CAPABILITIES.map((c, i) => [c, numbers[i]]));
    expect(byName).to.include({ sys_module: 16, sys_rawio: 17, mknod: 27, bpf: 39 });
    // none of what routing daemons need: NET_BIND_SERVICE 10, NET_ADMIN 12, NET_RAW 13, SYS_ADMIN 21
    for (const kept of [10, 12, 13, 21]) expect(numbers).to.not.include(kept);
  });
});

describe('container driver: machine', () => {
  it('prefers catatonit (no idle child) to tini-static as PID 1', () => {
    expect(initBinary(() => true)!.path).to.equal('/usr/bin/catatonit');
    expect(initBinary((p) => p === '/usr/bin/tini-static')).to.deep.equal({ path: '/usr/bin/tini-static', args: ['--', 'sleep', '2147483647'] });
    expect(initBinary(() => false)).to.equal(undefined);
  });

  it('covers the agent\'s state directory where the VM\'s root would show it', () => {
    expect(hiddenStateDir('/', '/var/lib/ediv', (p) => p === '/var/lib/ediv')).to.equal('/var/lib/ediv');
    expect(hiddenStateDir('/srv/rootfs', '/var/lib/ediv', () => false)).to.equal(undefined);
    // under one of the VM's own mounts (a tmpfs /tmp or /run): covered already
    expect(hiddenStateDir('/', '/tmp/ediv-state', () => true)).to.equal(undefined);
    expect(hiddenStateDir('/', '/run/ediv', () => true)).to.equal(undefined);
  });
});

describe('container driver: cgroups', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-cgroup-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));
  const put = (file: string, text = '') => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };

  it('v1: one directory per hierarchy, memory and CPU limits, devices denied but the basic ones', () => {
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids', 'devices']) put(`${c}/cgroup.procs`);
    const layout = detectCgroups(root);
    expect(layout.version).to.equal(1);
    expect(cgroupDirs(layout, 'lab.a.t')).to.deep.equal(['memory', 'cpu', 'cpuacct', 'pids', 'devices'].map((c) => path.join(root, c, 'ediv', 'lab.a.t')));
    const procs = createCgroup(layout, 'lab.a.t', { memMB: 64, cpus: 1.5 });
    expect(procs).to.have.length(5);
    const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');
    expect(read('memory/ediv/lab.a.t/memory.limit_in_bytes')).to.equal(String(64 * 2 ** 20));
    expect(read('cpu/ediv/lab.a.t/cpu.cfs_period_us')).to.equal('100000');
    expect(read('cpu/ediv/lab.a.t/cpu.cfs_quota_us')).to.equal('150000');
    expect(read('devices/ediv/lab.a.t/devices.deny')).to.equal('a');
    // a plain file keeps the last write: the allow list is written one rule at a time
    expect(read('devices/ediv/lab.a.t/devices.allow')).to.match(/^c \d+:[\d*]+ rwm$/);
    put('memory/ediv/lab.a.t/memory.usage_in_bytes', String(3 * 2 ** 20));
    put('cpuacct/ediv/lab.a.t/cpuacct.usage', String(2.5e9));
    expect(cgroupUsage(layout, 'lab.a.t')).to.deep.equal({ cpuSeconds: 2.5, memMB: 3 });
  });

  it('v1: co-mounted controllers (cpu,cpuacct) give one directory', () => {
    put('cpu,cpuacct/cgroup.procs');
    fs.symlinkSync('cpu,cpuacct', path.join(root, 'cpu'));
    fs.symlinkSync('cpu,cpuacct', path.join(root, 'cpuacct'));
    put('memory/cgroup.procs');
    expect(cgroupDirs(detectCgroups(root), 'x')).to.have.length(2);
  });

  it('v2: one directory, memory.max and cpu.max, controllers enabled for the subtree', () => {
    put('cgroup.controllers', 'cpuset cpu io memory pids');
    put('cgroup.subtree_control');
    put('ediv/cgroup.controllers', 'cpu memory pids');
    const layout = detectCgroups(root);
    expect(layout.version).to.equal(2);
    createCgroup(layout, 'lab.b.t', { memMB: 128, cpus: 2 });
    expect(fs.readFileSync(path.join(root, 'ediv/lab.b.t/memory.max'), 'utf8')).to.equal(String(128 * 2 ** 20));
    expect(fs.readFileSync(path.join(root, 'ediv/lab.b.t/cpu.max'), 'utf8')).to.equal('200000 100000');
    expect(fs.readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8')).to.equal('+memory +cpu +pids');
  });

  it('no controllers: no cgroups, no limits', () => {
    expect(detectCgroups(root).version).to.equal(0);
    expect(createCgroup(detectCgroups(root), 'x', { memMB: 1 })).to.deep.equal([]);
  });
});
