// Raw SSDP probe for the tests (run inside a test namespace):
//   ssdp-probe.ts search <iface-address> <ST> <seconds>  -> JSON lines of the responses
//   ssdp-probe.ts listen <iface-address> <seconds>       -> JSON lines of the NOTIFY messages
import { openSsdpSocket, sendTo } from '../../../src/discovery/ssdp.ts';
import { formatMSearch, parseSsdp } from '../../../src/discovery/ssdp-messages.ts';
import { resolveInterface } from '../../../src/discovery/netif.ts';
import { SSDP_GROUP, SSDP_PORT } from '../../../src/discovery/types.ts';

const [mode, address, a3, a4] = process.argv.slice(2);
const iface = resolveInterface({ address });
const seconds = Number(mode === 'search' ? a4 : a3);
const sock = await openSsdpSocket(iface, mode === 'search' ? 0 : SSDP_PORT);
sock.on('message', (buf, rinfo) => {
  const m = parseSsdp(buf);
  if (!m) return;
  if ((mode === 'search' && m.kind === 'response') || (mode === 'listen' && m.kind === 'notify')) {
    process.stdout.write(JSON.stringify({ from: rinfo.address, ...m.headers }) + '\n');
  }
});
if (mode === 'search') await sendTo(sock, formatMSearch(a3!, 1), SSDP_PORT, SSDP_GROUP);
else process.stderr.write('listening\n');
setTimeout(() => sock.close(), seconds * 1000);
