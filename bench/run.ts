// Runs the benchmarks, one after another, each printing its own figures:
//   npm run bench                  all of them
//   npm run bench -- plan deploy   only those (plan, host-apply, deploy, redeploy, shared-cluster, discovery)
// Options after `--` that start with "--" are passed to every benchmark run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ALL = ['plan', 'host-apply', 'deploy', 'redeploy', 'shared-cluster', 'discovery'];
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const passed = args.filter((a) => a.startsWith('--'));
const unknown = names.filter((n) => !ALL.includes(n));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (choose from ${ALL.join(', ')})\n`);
  process.exit(2);
}
let failed = 0;
for (const name of names.length > 0 ? names : ALL) {
  process.stdout.write(`\n=== bench/${name}.ts ===\n`);
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, `${name}.ts`), ...passed], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
