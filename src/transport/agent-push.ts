// Bringing the agent to a host that has no ediv (cluster file `agentNode`, the default): the
// agent command is a short boot program given to the host's Node.js on its command line
// (`node --input-type=module -e BOOT <stateDir> <hash> <size> agent <op> ...`). It runs the
// bundle cached at <stateDir>/bundles/<hash>/ediv-agent.mjs; when that is missing it either
// asks for it (a session, size > 0: it prints a `bundle` line, reads exactly <size> bytes from
// its stdin, checks their SHA-256, writes them atomically, then runs them) or, for ops whose
// stdin is not the controller's to use (size 0), exits with BUNDLE_MISSING_EXIT so the
// controller installs it through a session and runs the op again. The bundle is the one this
// controller was built with, so the agent is always the controller's exact version.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { agentBundleFile } from '../common/agent-bundle-file.ts';
import { OperationError } from '../common/errors.ts';
import { AGENT_DEFAULT_STATE_DIR, AGENT_NODE_MAJOR } from '../protocol/agent.ts';
import type { ClusterHost } from '../protocol/cluster.ts';

/** The boot's exit status when the bundle is not on the host and it was not sent. */
export const BUNDLE_MISSING_EXIT = 75;

/**
 * The boot program. Plain JavaScript that any Node.js can parse, so that an old one is told
 * what is wrong; a bundle that is not the running user's own, or that others may write, is
 * refused (root would run what someone else put there).
 */
export const AGENT_BOOT = `import fs from 'node:fs'; import path from 'node:path'; import { createHash } from 'node:crypto'; import { pathToFileURL } from 'node:url';
const [stateDir, hash, size, ...argv] = process.argv.slice(1);
const stream = argv[1] === 'connect' || argv[1] === 'capture';
const fail = (code, message) => {
  // (A missing bundle is no failure of the op: the controller sends it and runs the op again.)
  if (!stream && code !== ${BUNDLE_MISSING_EXIT}) process.stdout.write(JSON.stringify({ type: 'result', ok: false, error: { code: 'agent-boot', message } }) + '\\n');
  process.stderr.write('ediv agent boot: ' + message + '\\n');
  process.exit(code);
};
if (Number(process.versions.node.split('.')[0]) < ${AGENT_NODE_MAJOR}) fail(2, 'ediv\\'s agent needs Node.js >= ${AGENT_NODE_MAJOR}; this is ' + process.version + ' (' + process.execPath + '): install a newer one, or name it in the host\\'s agentNode');
const dir = path.join(stateDir, 'bundles', hash);
const file = path.join(dir, 'ediv-agent.mjs');
if (!fs.existsSync(file)) {
  if (size === '0') fail(${BUNDLE_MISSING_EXIT}, 'the agent bundle ' + hash + ' is not on this host yet');
  process.stdout.write(JSON.stringify({ type: 'bundle', need: hash }) + '\\n');
  const buf = Buffer.alloc(Number(size));
  let got = 0;
  while (got < buf.length) {
    let n = 0;
    try { n = fs.readSync(0, buf, got, buf.length - got, null); } catch (e) { if (e.code === 'EAGAIN') { await new Promise((r) => setTimeout(r, 2)); continue; } throw e; }
    if (n === 0) break;
    got += n;
  }
  if (got < buf.length || createHash('sha256').update(buf).digest('hex') !== hash) fail(2, 'the agent bundle received is not ' + hash + ' (' + got + ' of ' + buf.length + ' bytes)');
  fs.mkdirSync(path.join(stateDir, 'bundles'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = file + '.' + process.pid + '.tmp';
  fs.writeFileSync(tmp, buf, { mode: 0o644 });
  fs.renameSync(tmp, file);
}
for (const f of [path.join(stateDir, 'bundles'), dir, file]) {
  const st = fs.statSync(f);
  if (st.uid !== process.getuid() || (st.mode & 0o022) !== 0) fail(1, f + ' is not owned by this user alone (uid ' + st.uid + ', mode ' + (st.mode & 0o777).toString(8) + '): remove it');
}
await (await import(pathToFileURL(file).href)).runAgent(argv);
`;

export interface AgentBundle {
  bytes: Buffer;
  /** SHA-256 of bytes, hex: the bundle's name on hosts. */
  hash: string;
}

let loaded: AgentBundle | undefined;

/** The bundle this controller brings to hosts (read once per process). */
export function agentBundle(): AgentBundle {
  if (!loaded) {
    const bytes = readFileSync(agentBundleFile());
    loaded = { bytes, hash: createHash('sha256').update(bytes).digest('hex') };
  }
  return loaded;
}

/** The command that runs the pushed agent on `host` (before `agent <op> ...`); `install`: it may ask for the bundle. */
export function pushedAgentCommand(host: ClusterHost & { agentNode: string }, install: boolean): string[] {
  const b = agentBundle();
  return [host.agentNode, '--input-type=module', '-e', AGENT_BOOT, host.agentStateDir ?? AGENT_DEFAULT_STATE_DIR, b.hash, install ? String(b.bytes.length) : '0'];
}

/** Whether an agent failed because its bundle is not on the host (it did nothing). */
export function bundleMissing(err: unknown): boolean {
  return err instanceof OperationError && (err.details as { exitCode?: unknown } | undefined)?.exitCode === BUNDLE_MISSING_EXIT;
}

/** A session's first line asking for the bundle: `{"type":"bundle","need":<hash>}`. */
export function bundleRequest(line: string): string | undefined {
  try {
    const m = JSON.parse(line) as { type?: unknown; need?: unknown };
    return m?.type === 'bundle' && typeof m.need === 'string' ? m.need : undefined;
  } catch {
    return undefined;
  }
}
