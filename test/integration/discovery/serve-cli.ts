// Test driver: calls the discovery serve() entry with the JSON request in argv[2] and prints
// the result (what `ediv agent serve` does on a host, with the same daemon entry).
import { serve } from '../../../src/discovery/serve.ts';
import { DISCOVERY_DAEMON_MAIN } from '../../../src/cli/agent.ts';

const result = await serve(JSON.parse(process.argv[2] ?? '{}'), { daemonMain: DISCOVERY_DAEMON_MAIN });
process.stdout.write(JSON.stringify(result) + '\n');
