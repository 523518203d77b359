// `ediv vm-advertise`: run inside a VM (e.g. from an exec sequence) to announce the VM and the
// services its owner lists; runs until SIGTERM/SIGINT, then says byebye.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { isSafeName } from '../common/names.ts';
import { startSelfAdvertisement } from '../discovery/self-advertise.ts';
import { isUdn } from '../discovery/udn.ts';
import { DEFAULT_MAX_AGE } from '../discovery/types.ts';
import { action } from './output.ts';
import { intOption } from './option-values.ts';
import { renderAdvertising } from './render/vm-advertise.ts';
import { untilInterrupted } from './signals.ts';

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

async function advertise(opts: AdvertiseOpts): Promise<number> {
  if (opts.udn !== undefined && !isUdn(opts.udn)) throw InputError.commandLine('--udn', 'must look like uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx');
  if (opts.udn === undefined && (!opts.deployment || !opts.vm)) throw InputError.commandLine('--vm', 'give --deployment and --vm (or the VM UDN with --udn)');
  for (const [k, v] of [['--deployment', opts.deployment], ['--vm', opts.vm], ['--host', opts.host]] as const) {
    if (v !== undefined && !isSafeName(v)) throw InputError.commandLine(k, `${JSON.stringify(v)} is not a valid name`);
  }
  const adv = await startSelfAdvertisement({
    servicesFile: opts.services,
    udn: opts.udn,
    deployment: opts.deployment,
    vm: opts.vm,
    host: opts.host,
    interface: opts.interface,
    port: intOption('--port', opts.port, 0, 65535, 0),
    maxAge: intOption('--max-age', opts.maxAge, 10, 86400, DEFAULT_MAX_AGE),
  });
  process.stdout.write(renderAdvertising(adv, opts.json));
  await untilInterrupted();
  await adv.stop();
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
