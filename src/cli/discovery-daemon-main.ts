// Entry of the detached discovery daemon process (src/discovery/daemon.ts), started by
// `ediv agent serve`: node discovery-daemon-main.ts <config>. The composition root of the
// daemon: discovery's daemon serving the host agent's VM inventory. It starts in its own
// process on every daemon start, so it imports only these two (no CLI framework).
import { runDaemon } from '../discovery/daemon.ts';
import { hostVmInventory } from '../host-agent/inventory.ts';

process.exitCode = await runDaemon(process.argv[2] ?? '', { main: import.meta.filename, inventory: hostVmInventory });
process.exit();
