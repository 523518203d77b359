// A VM announcing itself (`ediv vm-advertise`): its root device, under the same UDN as under its
// hypervisor, with the services its owner's services file lists; byebye on stop.
import { selfAdvertisedVm } from './advertiser.ts';
import { configIdOf } from './description.ts';
import { DeviceServer } from './device-server.ts';
import { interfaceOrSole } from './interface-choice.ts';
import { loadServicesFile } from './services-file.ts';
import { SsdpAdvertiser } from './ssdp.ts';
import { hypervisorUdn, vmUdn } from './udn.ts';

export interface SelfAdvertiseRequest {
  servicesFile: string;
  /** The VM's UDN; else the one of deployment/vm. */
  udn?: string;
  deployment?: string;
  vm?: string;
  /** The cluster host the VM runs on (links the announcement to its hypervisor). */
  host?: string;
  /** Else the only non-loopback interface. */
  interface?: string;
  /** HTTP port; 0: any free one. */
  port: number;
  maxAge: number;
}

export interface SelfAdvertisement {
  udn: string;
  location: string;
  interface: string;
  services: string[];
  /** Says byebye and closes the description server. */
  stop(): Promise<void>;
}

export async function startSelfAdvertisement(req: SelfAdvertiseRequest): Promise<SelfAdvertisement> {
  const file = loadServicesFile(req.servicesFile);
  const iface = interfaceOrSole(req.interface);
  const root = selfAdvertisedVm(
    {
      udn: req.udn ?? vmUdn(req.deployment!, req.vm!),
      deployment: req.deployment,
      vm: req.vm,
      host: req.host,
      hypervisorUdn: req.host ? hypervisorUdn(req.host) : undefined,
    },
    file,
  );
  const configId = configIdOf(root);
  // The owner's actions are open to the management network (a VM has no cluster key): the
  // services file decides what they may do.
  const server = new DeviceServer({ address: iface.address, port: req.port, network: iface });
  server.setDevice(root, configId);
  const location = await server.listen();
  const ssdp = new SsdpAdvertiser({ iface, maxAge: req.maxAge, bootId: Math.floor(Date.now() / 1000) & 0x7fffffff });
  await ssdp.start();
  ssdp.setDevice(root, location, configId); // announced in the background
  return {
    udn: root.udn,
    location,
    interface: iface.name,
    services: file.services.map((s) => s.serviceType),
    stop: async () => {
      await ssdp.stop();
      await server.close();
    },
  };
}
