// Test driver: calls the discovery serve() entry with the JSON request in argv[2] and prints
// the result (what `ediv agent serve` does on a host).
import { serve } from '../../../src/discovery/serve.ts';

const result = await serve(JSON.parse(process.argv[2] ?? '{}'));
process.stdout.write(JSON.stringify(result) + '\n');
