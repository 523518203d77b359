// Entry of the single-file agent bundle (dist/build-<digest>/ediv-agent.mjs, built by
// scripts/build.ts with every package inlined) that the controller copies to a host which has
// no ediv of its own (transport/agent-push.ts). It is not run directly: the controller's boot
// script (transport/agent-boot.ts) imports it from the host's bundle cache and calls runAgent.
// The composition root is the same as `ediv agent` (cli/agent.ts); only the agent command is
// registered, so the bundle holds no controller code.
//
// The files the agent's code reads beside its own module (launcher.py, ns-config.py, the
// discovery daemon's entry) are embedded by the build and written beside the bundle on its
// first start; the bundle's directory is named after its content hash, so they never go stale.
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { register } from './agent.ts';
import { parseProgram } from './program-run.ts';
import { runDaemon } from '../discovery/daemon.ts';
import { hostVmInventory } from '../host-agent/inventory.ts';

declare const __EDIV_AGENT_ASSETS__: Record<string, string>;

/** Writes the embedded assets missing beside the bundle (atomically: agents may start at once). */
function materializeAssets(dir: string): void {
  for (const [name, text] of Object.entries(__EDIV_AGENT_ASSETS__)) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) continue;
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
}

/** `argv`: the words after the program, e.g. ['agent', 'session', '--state-dir', D]. */
export async function runAgent(argv: string[]): Promise<void> {
  materializeAssets(import.meta.dirname);
  const program = new Command().name('ediv').exitOverride();
  register(program);
  await parseProgram(program, ['node', 'ediv', ...argv]);
}

/** The discovery daemon, started by `agent serve` through the daemon entry beside the bundle. */
export async function runDiscoveryDaemon(config: string, main: string): Promise<number> {
  return runDaemon(config, { main, inventory: hostVmInventory });
}
