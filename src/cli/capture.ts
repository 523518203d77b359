// `ediv capture <lab> <net> [--host H] [-c N] [-w FILE]`: a net's packets as pcap.
import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { captureCommand } from '../controller/capture-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action } from './output.ts';
import { addConnectionOptions, addForceOption, addStoreOption } from './controller-options.ts';
import { intOption } from './option-values.ts';

interface CaptureOptions extends CommonOptions {
  host?: string;
  count?: string;
  write?: string;
}

export function register(program: Command): void {
  addForceOption(addStoreOption(addConnectionOptions(program.command('capture'))))
    .description(
      "The packets of one net of a deployed scenario, from one host (tcpdump on the net's bridge\n" +
        "there), streamed back as pcap: to a file (-w), or to stdout for a pipe. Ctrl-C ends it.\n" +
        'A net that spans hosts is captured on the first of them unless --host chooses.\n\n' +
        'Examples:\n  ediv capture tutorial Net0 -w net0.pcap -c 100\n  ediv capture tutorial Net1 --host host2 | wireshark -k -i -',
    )
    .argument('<scenario-name>', 'name of a deployed scenario')
    .argument('<net>', 'net name')
    .option('--host <name>', 'the host to capture on (a net that spans hosts is on several)')
    .option('-c, --count <n>', 'stop after n packets')
    .option('-w, --write <file>', 'write the pcap to <file> instead of stdout')
    .action(
      action(async (name: string, net: string, opts: CaptureOptions) => {
        const count = opts.count === undefined ? undefined : intOption('--count', opts.count, 1, 1e9, 1);
        const file = opts.write ? createWriteStream(opts.write) : undefined;
        const out = file ?? process.stdout;
        const ac = new AbortController();
        const onSignal = () => ac.abort();
        process.once('SIGINT', onSignal);
        try {
          const code = await captureCommand({ ...opts, name, net, host: opts.host, count }, out, (l) => process.stderr.write(l + '\n'), ac.signal);
          if (file) await new Promise<void>((r) => file.end(() => r()));
          return code;
        } finally {
          process.off('SIGINT', onSignal);
        }
      }),
    );
}
