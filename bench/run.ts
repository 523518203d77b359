// Runs the benchmarks, one after another, each printing its own figures:
//   npm run bench                                  all of them
//   npm run bench -- plan deploy                   only those
//   npm run bench -- deploy --scale 250,1000 --no-mininet
// Options (after `--`) go to every chosen benchmark that takes them (OPTIONS below); an option
// that none of the chosen benchmarks takes, or a missing value, is an error (exit 2) before
// anything runs. `--name value` and `--name=value` both work.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ALL = ['plan', 'host-apply', 'deploy', 'redeploy', 'shared-cluster', 'discovery', 'agent-push'] as const;
type Bench = (typeof ALL)[number];

/** Every benchmark option: whether it takes a value, and which benchmarks take it. */
const OPTIONS: Record<string, { value: boolean; benches: Bench[]; help: string }> = {
  '--quick': { value: false, benches: ['plan'], help: 'fewer sizes' },
  '--vms': { value: true, benches: ['host-apply', 'deploy', 'redeploy', 'discovery'], help: 'VMs (deploy: one size; host-apply: the Mininet size; discovery: per host)' },
  '--scale': { value: true, benches: ['host-apply', 'deploy'], help: 'sizes, comma-separated' },
  '--no-mininet': { value: false, benches: ['host-apply', 'deploy'], help: 'skip the Mininet baseline' },
  '--hosts': { value: true, benches: ['deploy', 'redeploy', 'discovery'], help: 'emulated hosts' },
  '--sites': { value: true, benches: ['deploy'], help: 'sites of the lab' },
  '--drivers': { value: true, benches: ['deploy'], help: 'netns,container' },
  '--segmentator': { value: true, benches: ['deploy'], help: 'placement algorithm' },
  '--settle-max': { value: true, benches: ['deploy'], help: 'seconds to wait for a quiet machine before each timed step' },
  '--nets': { value: true, benches: ['redeploy'], help: 'nets of the flat lab' },
  '--driver': { value: true, benches: ['redeploy'], help: 'netns or container' },
  '--labs': { value: true, benches: ['shared-cluster'], help: 'tutorial copies' },
  '--controllers': { value: true, benches: ['shared-cluster'], help: 'controllers at once' },
  '--runs': { value: true, benches: ['discovery', 'agent-push'], help: 'repetitions' },
  '--stub': { value: false, benches: ['discovery'], help: 'only the in-process part (daemon ready time with a stub send)' },
};

function usage(): string {
  const lines = Object.entries(OPTIONS).map(([o, d]) => `  ${(o + (d.value ? ' <v>' : '')).padEnd(20)} ${d.benches.join(', ')}: ${d.help}`);
  return `usage: npm run bench -- [${ALL.join(' | ')} ...] [options]\noptions (benchmarks that take them):\n${lines.join('\n')}\n`;
}

function fail(message: string): never {
  process.stderr.write(`bench: ${message}; the options: npm run bench -- --help\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(usage());
  process.exit(0);
}
const names: Bench[] = [];
const given: { name: string; value?: string }[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (!a.startsWith('-')) {
    if (!(ALL as readonly string[]).includes(a)) fail(`unknown benchmark "${a}" (choose from ${ALL.join(', ')})`);
    names.push(a as Bench);
    continue;
  }
  const eq = a.indexOf('=');
  const name = eq > 0 ? a.slice(0, eq) : a;
  const spec = OPTIONS[name];
  if (!spec) fail(`unknown option ${name}`);
  if (!spec.value) {
    if (eq > 0) fail(`${name} takes no value`);
    given.push({ name });
  } else if (eq > 0) given.push({ name, value: a.slice(eq + 1) });
  else {
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) fail(`${name} needs a value`);
    given.push({ name, value });
  }
}
const chosen: Bench[] = names.length > 0 ? [...new Set(names)] : [...ALL];
for (const g of given) {
  if (!OPTIONS[g.name]!.benches.some((b) => chosen.includes(b))) {
    fail(`${g.name} is not an option of ${chosen.join(', ')} (it is of ${OPTIONS[g.name]!.benches.join(', ')})`);
  }
}

let failed: string[] = [];
for (const name of chosen) {
  const passed = given.filter((g) => OPTIONS[g.name]!.benches.includes(name)).flatMap((g) => (g.value === undefined ? [g.name] : [g.name, g.value]));
  process.stdout.write(`\n=== bench/${name}.ts${passed.length ? ' ' + passed.join(' ') : ''} ===\n`);
  const r = spawnSync(process.execPath, [path.join(import.meta.dirname, `${name}.ts`), ...passed], { stdio: 'inherit' });
  if (r.status !== 0) failed = [...failed, `${name} (${r.signal ?? `exit ${r.status}`})`];
  if (r.signal === 'SIGINT' || r.status === 130) break; // interrupted: do not start the next one
}
if (failed.length > 0) process.stderr.write(`bench: failed: ${failed.join(', ')}\n`);
process.exit(failed.length > 0 ? 1 : 0);
