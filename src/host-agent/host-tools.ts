// What `facts` says of the host beyond its kernel's link types: the programs the agent and the
// labs run (found on PATH, as the agent would run them), the file systems and cgroups the
// container driver needs. Probed on every facts (a few stats and one `ip -V`): unlike kernel
// capabilities, programs come and go with packages. The controller judges them
// (controller/host-requirements.ts); this only reports.
import fs from 'node:fs';
import path from 'node:path';
import type { HostTools } from '../protocol/agent.ts';
import { detectCgroups } from './drivers/container/cgroups.ts';
import { run } from './sys.ts';

/** Where a program is, as a spawn without a shell would find it (sbin directories too: the agent is root). */
function which(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter((d) => d.startsWith('/'));
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** FRR's daemons: Debian's and FRR's own packages put them in /usr/lib/frr. */
function frrZebra(): string | null {
  for (const file of ['/usr/lib/frr/zebra', '/usr/local/lib/frr/zebra']) if (fs.existsSync(file)) return file;
  return which('zebra');
}

function overlayFs(): boolean {
  try {
    return /\boverlay$/m.test(fs.readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
}

function cgroups(): string | null {
  const c = detectCgroups();
  if (c.version === 2) return 'v2';
  if (c.version === 1) return `v1 (${[...c.roots.keys()].join(', ')})`;
  return null;
}

export async function hostTools(): Promise<HostTools> {
  const ip = which('ip');
  // "ip utility, iproute2-6.1.0, libbpf 1.1.0" → "iproute2-6.1.0"
  const ipVersion = ip ? (/iproute2-[\w.]+|iproute2 [\w.]+/.exec((await run(ip, ['-V'])).stdout)?.[0] ?? 'unknown version') : null;
  return {
    iproute2: ipVersion,
    tc: which('tc'),
    python3: which('python3'),
    nsenter: which('nsenter'),
    tcpdump: which('tcpdump'),
    frr: frrZebra(),
    overlayfs: overlayFs(),
    cgroups: cgroups(),
  };
}
