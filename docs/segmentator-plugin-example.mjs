// An example ediv segmentator plugin: `ediv plan lab.xml --segmentator ./docs/segmentator-plugin-example.mjs`
//
// "blocks": VMs sorted by name, cut into contiguous blocks of equal size, one per host in
// cluster order — VMs named alike (r1, r2, ...) end up together. VMs pinned by vm_deploy_at
// go to their host. (A real plugin must honour every restriction; ediv checks the mapping
// it returns and rejects it, naming the plugin, when it does not.)

/** @type {import('../src/segmentators/api.ts').Segmentator} */
export default {
  name: 'blocks',
  description: 'VMs sorted by name, cut into one contiguous block per host',
  segment({ scenario, hosts, restrictions }) {
    const pinned = new Map(restrictions.vmDeployAt.map((r) => [r.vm, r.host]));
    const names = scenario.vms.map((vm) => vm.name).sort();
    const size = Math.ceil(names.length / hosts.length);
    const mapping = {};
    names.forEach((vm, i) => {
      mapping[vm] = pinned.get(vm) ?? hosts[Math.floor(i / size)].name;
    });
    return mapping;
  },
};
