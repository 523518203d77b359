// `ediv vm-advertise`: run inside a VM (e.g. from an exec sequence) to announce the VM and the
// services its owner lists; runs until SIGTERM/SIGINT, then says byebye.
import os from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { isSafeName } from '../common/names.ts';
import { action } from './output.ts';
import { loadServicesFile } from '../discovery/services-file.ts';
import { selfAdvertisedVm } from '../discovery/advertiser.ts';
import { DeviceServer } from '../discovery/device-server.ts';
import { SsdpAdvertiser } from '../discovery/ssdp.ts';
import { configIdOf } from '../discovery/description.ts';
import { resolveInterface } from '../discovery/netif.ts';
import type { InterfaceAddress } from '../discovery/netif.ts';
import { hypervisorUdn, isUdn, vmUdn } from '../discovery/udn.ts';
import { DEFAULT_MAX_AGE } from '../discovery/types.ts';

interface AdvertiseOpts {
  services: string;
  deployment?: string;
  vm?: string;
  udn?: string;
  host?: string;
  interface?: string;
  port?: string;
  maxAge?: string;
  json?: boolean;
}

function fail(option: string, message: string): never {
  throw InputError.at(option, undefined, undefined, message);
}

/** The only non-loopback interface with an IPv4 address, when there is exactly one. */
function soleInterface(): InterfaceAddress {
  const names = Object.entries(os.networkInterfaces())
    .filter(([, l]) => (l ?? []).some((a) => a.family === 'IPv4' && !a.internal))
    .map(([n]) => n);
  if (names.length !== 1) fail('--interface', `give the interface to announce on (candidates: ${names.join(', ') || 'none'})`);
  return resolveInterface({ interface: names[0] });
}

function intOption(value: string | undefined, option: string, min: number, max: number, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(option, `must be an integer ${min}..${max}, not ${JSON.stringify(value)}`);
  return n;
}

async function advertise(opts: AdvertiseOpts): Promise<number> {
  if (opts.udn !== undefined && !isUdn(opts.udn)) fail('--udn', 'must look like uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx');
  if (opts.udn === undefined && (!opts.deployment || !opts.vm)) fail('--vm', 'give --deployment and --vm (or the VM UDN with --udn)');
  for (const [k, v] of [['--deployment', opts.deployment], ['--vm', opts.vm], ['--host', opts.host]] as const) {
    if (v !== undefined && !isSafeName(v)) fail(k, `${JSON.stringify(v)} is not a valid name`);
  }
  const port = intOption(opts.port, '--port', 0, 65535, 0);
  const maxAge = intOption(opts.maxAge, '--max-age', 10, 86400, DEFAULT_MAX_AGE);
  const file = loadServicesFile(opts.services);
  const iface = opts.interface ? resolveInterface({ interface: opts.interface }) : soleInterface();

  const root = selfAdvertisedVm(
    {
      udn: opts.udn ?? vmUdn(opts.deployment!, opts.vm!),
      deployment: opts.deployment,
      vm: opts.vm,
      host: opts.host,
      hypervisorUdn: opts.host ? hypervisorUdn(opts.host) : undefined,
    },
    file,
  );
  const configId = configIdOf(root);
  const server = new DeviceServer({ address: iface.address, port });
  server.setDevice(root, configId);
  const location = await server.listen();
  const ssdp = new SsdpAdvertiser({ iface, maxAge, bootId: Math.floor(Date.now() / 1000) & 0x7fffffff });
  await ssdp.start();
  await ssdp.setDevice(root, location, configId);
  const info = { type: 'advertising', udn: root.udn, location, interface: iface.name, services: file.services.map((s) => s.serviceType) };
  process.stdout.write(opts.json ? JSON.stringify(info) + '\n' : `advertising ${root.udn} at ${location} on ${iface.name}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await ssdp.stop();
  await server.close();
  return 0;
}

export function register(program: Command): void {
  program
    .command('vm-advertise')
    .description(
      'Run inside a VM: announce the VM over UPnP (same UDN as under its hypervisor) with the\n' +
        'services listed in a JSON/YAML file; each action runs the command the file names, with\n' +
        'arguments passed as separate argv elements (no shell). Runs until SIGTERM/SIGINT.\n' +
        'File format: docs/discovery.md.',
    )
    .requiredOption('-s, --services <file>', 'services file (JSON or YAML)')
    .option('-d, --deployment <name>', 'scenario (deployment) the VM belongs to')
    .option('--vm <name>', 'VM name in the scenario')
    .option('--udn <uuid:…>', 'the VM UDN instead of --deployment/--vm')
    .option('--host <name>', 'cluster host the VM runs on (links the announcement to its hypervisor)')
    .option('-i, --interface <name>', 'interface to announce on (default: the only non-loopback one)')
    .option('--port <n>', 'HTTP port (default: any free one)')
    .option('--max-age <seconds>', `SSDP max-age (default ${DEFAULT_MAX_AGE})`)
    .option('--json', 'print the advertising line as JSON')
    .action(action((opts: AdvertiseOpts) => advertise(opts)));
}
