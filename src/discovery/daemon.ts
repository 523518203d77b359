// The hypervisor daemon process: started detached by `ediv agent serve` (serve.ts), one per
// host state directory. It owns a pid file in <stateDir>/.discovery, re-reads the VM list on
// SIGHUP and on changes in the state directory, and says byebye on SIGTERM. Its entry module
// belongs to the composition layer (src/cli/discovery-daemon-main.ts): it calls runDaemon
// with the VM inventory to serve, and serve() is given that entry's path to start.
import fs from 'node:fs';
import path from 'node:path';
import type { VmInventory } from '../protocol/vm-inventory.ts';
import type { VmProvider } from './types.ts';
import { HypervisorDaemon } from './hypervisor.ts';
import { fileProvider, inventoryProvider } from './provider.ts';
import { resolveInterface } from './netif.ts';
import { pidAlive } from '../common/process.ts';
import { writeJsonAtomic } from '../common/atomic-write.ts';
import { readKeyFile } from './control-auth.ts';

export interface DaemonConfig {
  host: string;
  interface?: string;
  address?: string;
  port: number;
  maxAge: number;
  /** <stateDir>/.discovery */
  dir: string;
  stateDir: string;
  /** A VM list file instead of the agent's inventory (tests, benchmark, foreign VMs). */
  vmsFile?: string;
  udn?: string;
  /** The controllers' control keys, one a line (0600, in dir; keys are never in a config or argv). */
  controlKeyFile?: string;
}

/** What the running daemon tells serve() (daemon.json). */
export interface DaemonState {
  pid: number;
  url: string;
  udn: string;
  bootId: number;
  configId: number;
  /**
   * SIGHUPs whose reload has finished (the n-th SIGHUP counts once a reload that began after it
   * is done): `serve` waits for it to pass the count it saw before signalling.
   */
  hupsServed?: number;
  host: string;
  interface: string;
  address: string;
  startedAt: string;
  config: DaemonConfig;
}

export const files = (dir: string) => ({
  pid: path.join(dir, 'daemon.pid'),
  state: path.join(dir, 'daemon.json'),
  config: path.join(dir, 'daemon-config.json'),
  log: path.join(dir, 'daemon.log'),
  bootId: path.join(dir, 'bootid'),
  controlKey: path.join(dir, 'control.key'),
});

/**
 * Whether pid is a discovery daemon started from the entry module `main` (guards against a
 * recycled pid in a stale pid file). Matched by the entry's name without its directory and
 * extension: a daemon started from the sources (…/src/cli/x.ts) or from a build
 * (…/dist/build-…/x.js, perhaps an older one) is the same daemon.
 */
export function isDaemonProcess(pid: number, main: string): boolean {
  const entry = (file: string) => path.basename(file).replace(/\.[cm]?[jt]s$/, '');
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => entry(a) === entry(main));
  } catch {
    return false;
  }
}

/** Pid of the daemon (entry module `main`) owning dir, if one is running. */
export function runningPid(dir: string, main: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(files(dir).pid, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pidAlive(pid) && isDaemonProcess(pid, main) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function claimPidFile(dir: string, main: string): boolean {
  const f = files(dir).pid;
  for (let i = 0; i < 2; i++) {
    try {
      fs.writeFileSync(f, `${process.pid}\n`, { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (runningPid(dir, main) !== undefined) return false;
      fs.rmSync(f, { force: true }); // stale
    }
  }
  return false;
}

/** BOOTID.UPNP.ORG: increases on every start of the daemon (persisted). */
function nextBootId(file: string): number {
  let prev = 0;
  try {
    prev = Number(fs.readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    // first start
  }
  const id = Math.max(prev + 1, Math.floor(Date.now() / 1000)) & 0x7fffffff;
  fs.writeFileSync(file, `${id}\n`);
  return id;
}


const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);

/**
 * The control keys as the daemon holds them (one per controller that handed one over, see
 * control-auth.ts readKeyFile): read at start (a bad key file stops the start: no silent
 * fallback to open control), re-read on SIGHUP (a bad or missing file then keeps the old list).
 */
export function controlKeyHolder(file: string | undefined, say: (msg: string) => void = log): { get: () => readonly Buffer[] | undefined; reread: () => void } {
  let keys = file ? readKeyFile(file) : undefined;
  const count = (n: number) => `${n} control key${n === 1 ? '' : 's'}`;
  say(keys ? `state-changing actions need a signature with one of the ${count(keys.length)}` : 'no control key: every action is open to the management network');
  return {
    get: () => keys,
    reread: () => {
      if (!file) return;
      try {
        const before = keys?.length;
        keys = readKeyFile(file);
        if (keys.length !== before) say(`now ${count(keys.length)}`);
      } catch (err) {
        say(`control keys not re-read, the old ones stay: ${(err as Error).message}`);
      }
    },
  };
}

export interface DaemonEntry {
  /** Path of the entry module the daemon runs (what serve() was given to start). */
  main: string;
  /** The VM inventory of an agent state directory (used unless the config names a vmsFile). */
  inventory(stateDir: string): VmInventory;
}

/** Exit codes: 0 stopped cleanly, 1 failed, 3 another daemon already runs for this state dir. */
export async function runDaemon(configPath: string, entry: DaemonEntry): Promise<number> {
  const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8')) as DaemonConfig;
  const f = files(cfg.dir);
  if (!claimPidFile(cfg.dir, entry.main)) {
    log('another discovery daemon runs for this state directory');
    return 3;
  }
  let daemon: HypervisorDaemon | undefined;
  const release = () => {
    fs.rmSync(f.state, { force: true });
    fs.rmSync(f.pid, { force: true });
  };
  try {
    const iface = resolveInterface({ interface: cfg.interface, address: cfg.address });
    const provider: VmProvider = cfg.vmsFile
      ? fileProvider(cfg.vmsFile)
      : inventoryProvider(entry.inventory(cfg.stateDir), cfg.host, [cfg.stateDir]);
    const keys = controlKeyHolder(cfg.controlKeyFile);
    const bootId = nextBootId(f.bootId);
    daemon = new HypervisorDaemon({ host: cfg.host, iface, port: cfg.port, maxAge: cfg.maxAge, bootId, provider, udn: cfg.udn, controlKeys: keys.get, log });
    const url = await daemon.start();
    const d = daemon;
    let hups = 0;
    let hupsServed = 0;
    const writeState = () =>
      writeJsonAtomic(f.state, {
        pid: process.pid, url, udn: d.udn, bootId, configId: d.currentConfigId, hupsServed, host: cfg.host,
        interface: iface.name, address: iface.address, startedAt: new Date().toISOString(), config: cfg,
      } satisfies DaemonState);
    writeState();
    log(`serving ${url} on ${iface.name}, BOOTID ${bootId}`);
    process.on('SIGHUP', () => {
      const n = ++hups;
      keys.reread(); // serve() may have added a key before signalling
      // reload() re-runs when asked while running: what it resolves with began after this signal.
      const served = () => {
        hupsServed = Math.max(hupsServed, n);
        writeState();
      };
      void d.reload().then(served, (e: Error) => {
        log(`reload failed: ${e.message}`);
        served(); // done, if not well: a serve waiting for it goes on
      });
    });
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    log('stopping: byebye');
    await daemon.stop();
    release();
    return 0;
  } catch (err) {
    log(`failed: ${(err as Error).message}`);
    await daemon?.stop().catch(() => {});
    release();
    return 1;
  }
}
