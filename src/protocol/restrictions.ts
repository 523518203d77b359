// EDIV restriction files (deployment_restrictions), as the controller reads them and every
// segmentator (built-in or plugin) receives them.

/** EDIV restriction file (deployment_restrictions). Host names resolved to cluster host names. */
export interface Restrictions {
  vmDeployAt: { vm: string; host: string }[];
  netDeployAt: { net: string; host: string }[];
  /** Each group's VMs must share a host. */
  affinity: { vms: string[] }[];
  /** Each group's VMs must be on pairwise different hosts. */
  antiAffinity: { vms: string[] }[];
  /** Each group's nets: all VMs on any of them on one host. */
  netDeployTogether: { nets: string[] }[];
  source?: string;
}

export const noRestrictions = (): Restrictions => ({
  vmDeployAt: [],
  netDeployAt: [],
  affinity: [],
  antiAffinity: [],
  netDeployTogether: [],
});
