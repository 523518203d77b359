// `ediv validate <file> [--cluster F] [--restrictions F] [--json]`: parse and check a scenario
// (and optionally a cluster file and a restriction file) without touching any host.
import type { Command } from 'commander';
import { validateFiles } from '../controller/validate-summary.ts';
import { action, printJson } from './output.ts';
import { renderSummary } from './render/validate.ts';

interface ValidateOptions {
  cluster?: string;
  restrictions?: string;
  json?: boolean;
}

const HELP = `
Checks, in this order, stopping at the first file with problems:
  1. the scenario: well-formed XML (no external entities, bounded entity expansion), the
     VNUML 1.8 / VNX 1.x-2.0 / OVF structure, then the semantics: unique VM and net names,
     names usable as host-side identifiers, interfaces on declared nets with unique ids,
     valid IPv4/IPv6 addresses, prefixes and route gateways, cmd-seqs naming existing
     sequences without loops;
  2. --cluster: the cluster file (YAML, JSON or EDIV cluster.conf);
  3. --restrictions: the EDIV restriction file, against the scenario (and the cluster).
Every problem of a file is listed as file:line:column: message.

Exit codes: 0 valid, 2 invalid input, 1 anything else.

Examples:
  ediv validate scenario.xml
  ediv validate scenario.xml --cluster cluster.yaml --restrictions restrictions.xml
  ediv validate scenario.xml --json | jq .vms[].name`;

export function register(program: Command): void {
  program
    .command('validate')
    .description('Check a scenario (and optionally cluster and restriction files) and summarize it')
    .argument('<file>', 'scenario file: VNUML 1.8 (<vnuml>), VNX 1.x/2.0 (<vnx>) or OVF (<Envelope>)')
    .option('--cluster <file>', 'also load and check this cluster file')
    .option('--restrictions <file>', 'also load this EDIV restriction file and check it against the scenario')
    .option('--json', 'print one JSON document: the summary, or {ok:false, problems:[{file,line,column,message}]}')
    .addHelpText('after', HELP)
    .action(
      action(async (file: string, opts: ValidateOptions) => {
        const summary = await validateFiles({ file, cluster: opts.cluster, restrictions: opts.restrictions });
        if (opts.json) printJson(summary);
        else process.stdout.write(renderSummary(summary));
        return 0;
      }),
    );
}
