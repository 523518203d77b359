// The VM advertiser (`ediv vm-advertise`): runs inside a VM and announces it as a UPnP root
// device with the same UDN as its entry under the hypervisor, offering the services its owner
// lists. Each action runs the owner's command with the arguments as separate argv elements.
import { execFile } from 'node:child_process';
import type { DeviceModel, ServiceModel } from './types.ts';
import { DEVICE_VM, UpnpError, UPNP_ERRORS } from './types.ts';
import type { ServiceActionDef, ServiceDef, ServicesFile } from './services-file.ts';
import { expandCommand } from './services-file.ts';

const MAX_OUTPUT = 8 * 1024;

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs argv without a shell. */
export function runCommand(argv: string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 1024 * 1024, shell: false }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        return reject(new Error(`cannot run ${argv[0]}: ${(err as NodeJS.ErrnoException).code}`));
      }
      if (err && err.killed) return reject(new Error(`${argv[0]} did not finish within ${timeoutMs / 1000} s`));
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

function tail(s: string, n: number): string {
  return s.length > n ? s.slice(s.length - n) : s;
}

function serviceKey(def: ServiceDef, i: number): string {
  const m = /:service:([^:]+):/.exec(def.serviceType);
  return `${i}-${m?.[1] ?? 'service'}`;
}

function defaultServiceId(serviceType: string): string {
  const m = /^urn:([^:]+):service:([^:]+):/.exec(serviceType)!;
  return `urn:${m[1]}:serviceId:${m[2]}`;
}

export function ownerService(def: ServiceDef, i: number, run = runCommand): ServiceModel {
  const stateVariables = [
    { name: 'A_ARG_TYPE_Output', dataType: 'string', sendEvents: false },
    { name: 'A_ARG_TYPE_ExitCode', dataType: 'i4', sendEvents: false },
  ];
  for (const a of def.actions) {
    for (const arg of a.arguments ?? []) {
      stateVariables.push({
        name: `A_ARG_TYPE_${a.name}_${arg.name}`,
        dataType: arg.dataType ?? 'string',
        sendEvents: false,
        ...(arg.allowedValues ? { allowedValues: arg.allowedValues } : {}),
      });
    }
  }
  const byName = new Map<string, ServiceActionDef>(def.actions.map((a) => [a.name, a]));
  return {
    serviceType: def.serviceType,
    serviceId: def.serviceId ?? defaultServiceId(def.serviceType),
    key: serviceKey(def, i),
    actions: def.actions.map((a) => ({
      name: a.name,
      arguments: [
        ...(a.arguments ?? []).map((arg) => ({ name: arg.name, direction: 'in' as const, relatedStateVariable: `A_ARG_TYPE_${a.name}_${arg.name}` })),
        { name: 'Output', direction: 'out' as const, relatedStateVariable: 'A_ARG_TYPE_Output' },
        { name: 'ExitCode', direction: 'out' as const, relatedStateVariable: 'A_ARG_TYPE_ExitCode' },
      ],
    })),
    stateVariables,
    async invoke(action, args) {
      const a = byName.get(action);
      if (!a) throw new UpnpError(UPNP_ERRORS.invalidAction, `Invalid Action: no action ${action}`);
      const argv = expandCommand(a.command, args); // a refused value is its own fault (600), not 501
      let r: CommandResult;
      try {
        r = await run(argv, (a.timeoutSeconds ?? 25) * 1000);
      } catch (err) {
        throw new UpnpError(UPNP_ERRORS.actionFailed, `Action Failed: ${(err as Error).message}`);
      }
      if (r.code !== 0) {
        throw new UpnpError(UPNP_ERRORS.actionFailed, `Action Failed: ${a.command[0]} exited with ${r.code}${r.stderr.trim() ? `: ${tail(r.stderr.trim(), 500)}` : ''}`);
      }
      return { Output: tail(r.stdout, MAX_OUTPUT), ExitCode: String(r.code) };
    },
    evented: () => ({}),
  };
}

export interface VmIdentity {
  udn: string;
  deployment?: string;
  vm?: string;
  host?: string;
  hypervisorUdn?: string;
}

export function selfAdvertisedVm(id: VmIdentity, file: ServicesFile, run = runCommand): DeviceModel {
  const vendor: Record<string, string> = {};
  if (id.deployment) vendor['deployment'] = id.deployment;
  if (id.vm) vendor['vm'] = id.vm;
  if (id.host) vendor['host'] = id.host;
  if (id.hypervisorUdn) vendor['hypervisor'] = id.hypervisorUdn;
  return {
    udn: id.udn,
    deviceType: DEVICE_VM,
    friendlyName: file.friendlyName ?? (id.vm ? `${id.vm}${id.deployment ? ` (${id.deployment})` : ''}` : id.udn),
    manufacturer: 'ediv',
    modelName: 'ediv VM advertiser',
    modelDescription: 'Services announced by the VM itself',
    vendor,
    services: file.services.map((s, i) => ownerService(s, i, run)),
    devices: [],
  };
}
