// A large valid VNX scenario, written in chunks (the memory and time tests of the XML reader, and
// the bad-input corpus's huge cases): VMs of the size real ones have (two interfaces, a route,
// a filetree, two execs, a comment).
import { appendFileSync, writeFileSync } from 'node:fs';

/**
 * A valid VNX scenario of about `bytes` bytes, written to `file`, with `tail` before the closing
 * </vnx>: its size, and the line the tail starts on.
 */
export function writeLargeScenario(file: string, bytes: number, tail = ''): { size: number; tailLine: number } {
  const head = '<?xml version="1.0"?>\n<vnx>\n  <global><version>2.0</version><scenario_name>big</scenario_name></global>\n' +
    Array.from({ length: 50 }, (_, n) => `  <net name="Net${n}" mode="virtual_bridge"/>\n`).join('');
  writeFileSync(file, head);
  let size = head.length;
  let lines = 53;
  for (let i = 0; size < bytes; ) {
    let chunk = '';
    for (let k = 0; k < 1000; k++, i++) {
      const a = (i >> 8) & 255;
      const b = i & 255;
      chunk +=
        `  <vm name="vm${i}" type="lxc">\n    <filesystem type="cow">/usr/share/vnx/filesystems/rootfs_lxc_ubuntu64</filesystem>\n    <mem>256M</mem>\n` +
        `    <if id="1" net="Net${i % 50}">\n      <ipv4>10.${a}.${b}.2/24</ipv4>\n      <ipv6>2001:db8:${a}:${b}::2/64</ipv6>\n    </if>\n` +
        `    <if id="2" net="Net${(i + 1) % 50}"><ipv4>10.${a}.${b}.3/24</ipv4></if>\n    <route type="ipv4" gw="10.${a}.${b}.1">default</route>\n` +
        `    <forwarding type="ip"/>\n    <!-- vm ${i} -->\n    <filetree seq="start" root="/etc/">conf/vm${i}</filetree>\n` +
        `    <exec seq="start" type="verbatim" ostype="system">ip link set eth1 up; ip link set eth2 up; sysctl -w net.ipv4.ip_forward=1; echo vm${i} &gt; /tmp/log</exec>\n` +
        `    <exec seq="stop" type="verbatim" ostype="system">halt -p</exec>\n  </vm>\n`;
    }
    appendFileSync(file, chunk);
    size += chunk.length;
    lines += chunk.split('\n').length - 1;
  }
  appendFileSync(file, `${tail}</vnx>\n`);
  return { size: size + tail.length + 7, tailLine: lines + 1 };
}
