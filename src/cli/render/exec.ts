// Text report of `ediv exec`: per VM, each command with its output and a non-zero exit status.
import type { ExecReport } from '../../controller/exec.ts';

export function renderExec(r: ExecReport): string {
  let s = '';
  for (const v of r.vms) {
    s += `== ${v.vm} (${v.host}) ==\n`;
    for (const c of v.commands) {
      s += `$ ${c.command.trim().split('\n').join('\n  ')}\n`;
      if (c.stdout) s += c.stdout.endsWith('\n') ? c.stdout : c.stdout + '\n';
      if (c.stderr) s += c.stderr.split('\n').filter(Boolean).map((l) => `[stderr] ${l}`).join('\n') + '\n';
      if (c.exitCode !== 0) s += `[exit ${c.exitCode}]\n`;
    }
  }
  for (const f of r.failedHosts) s += `!! ${f.host}: ${f.error}\n`;
  const failed = r.vms.flatMap((v) => v.commands.filter((c) => c.exitCode !== 0).map(() => v.vm));
  if (failed.length > 0) s += `${failed.length} command(s) failed (in ${[...new Set(failed)].join(', ')})\n`;
  return s;
}
