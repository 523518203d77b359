// Helper of bench/discovery.ts, run inside the control-point namespace:
//   discovery-probe.ts discover <address> <runs> <hosts> <vmsPerHost>
//       time from control-point start to the complete tree, per run (JSON)
//   discovery-probe.ts listen <address> <seconds>   (ends early on SIGTERM)
//       SSDP NOTIFY traffic per sender (packets, bytes) (JSON)
import { ControlPoint } from '../src/discovery/control-point.ts';
import { resolveInterface } from '../src/discovery/netif.ts';
import { openSsdpSocket } from '../src/discovery/ssdp.ts';
import { closeHttpClient } from '../src/discovery/http-client.ts';

const [mode, address, a, b, c] = process.argv.slice(2);
const iface = resolveInterface({ address });

if (mode === 'discover') {
  const runs = Number(a);
  const hosts = Number(b);
  const perHost = Number(c);
  const out: { ms: number; vms: number; responses: number; fetches: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const cp = new ControlPoint({ iface, mx: 1 });
    await cp.start();
    await cp.searchFor('upnp:rootdevice');
    const complete = await cp.waitFor(
      (t) => t.hypervisors.length === hosts && t.hypervisors.every((h) => h.vms.length === perHost && h.vms.every((v) => v.services[0]?.actions?.length)),
      20_000,
    );
    const ms = performance.now() - t0;
    const vms = cp.tree().hypervisors.reduce((n, h) => n + h.vms.length, 0);
    out.push({ ms: complete ? ms : NaN, vms, responses: cp.seen.response, fetches: cp.seen.fetches });
    await cp.stop();
    await new Promise((r) => setTimeout(r, 1200)); // late answers to this run's search die with its socket
  }
  closeHttpClient();
  process.stdout.write(JSON.stringify(out) + '\n');
} else if (mode === 'listen') {
  const sock = await openSsdpSocket(iface);
  const per: Record<string, { packets: number; bytes: number }> = {};
  sock.on('message', (buf, rinfo) => {
    if (!buf.toString('latin1', 0, 6).startsWith('NOTIFY')) return;
    const e = (per[rinfo.address] ??= { packets: 0, bytes: 0 });
    e.packets++;
    e.bytes += buf.length;
  });
  process.stderr.write('listening\n');
  // Until SIGTERM, or the given number of seconds.
  await new Promise<void>((r) => {
    const timer = setTimeout(r, Number(a) * 1000);
    process.once('SIGTERM', () => {
      clearTimeout(timer); // else the pending timer keeps the process alive for its whole duration
      r();
    });
  });
  sock.close();
  process.stdout.write(JSON.stringify(per) + '\n');
}
