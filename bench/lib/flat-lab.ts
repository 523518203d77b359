// The deploy benchmarks' lab: many VMs on a few nets, one address each (bench/deploy.ts, bench/redeploy.ts).

/** A flat lab: VMs vm1..vmN, VM i on net Net(i mod k) with one address (10.<net>.x.y/16). */
export function flatLabXml(name: string, vms: number, nets: number): string {
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<vnx>`, `  <global><version>2.0</version><scenario_name>${name}</scenario_name></global>`];
  for (let j = 0; j < nets; j++) out.push(`  <net name="Net${j}" mode="virtual_bridge"/>`);
  for (let i = 0; i < vms; i++) {
    const j = i % nets;
    const host = Math.floor(i / nets) + 2;
    out.push(`  <vm name="vm${i + 1}" type="lxc"><if id="1" net="Net${j}"><ipv4>10.${j}.${host >> 8}.${host & 255}/16</ipv4></if></vm>`);
  }
  out.push('</vnx>', '');
  return out.join('\n');
}
