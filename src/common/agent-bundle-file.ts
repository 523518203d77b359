// Where the controller finds the single-file agent bundle it copies to hosts (scripts/build.ts
// makes it, as dist/build-<digest>/ediv-agent.mjs): beside this very module when ediv runs from
// a build (an installed package always does), else in the build of the checkout's current
// sources, which is made first when there is none (a developer who edited the sources).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AGENT_BUNDLE, BUNDLE_MAIN, mainModule } from '../../bin/build-select.mjs';
import { OperationError } from './errors.ts';
import { edivRoot } from './paths.ts';

export function agentBundleFile(): string {
  const beside = path.join(import.meta.dirname, AGENT_BUNDLE);
  if (existsSync(beside)) return beside;
  const fromBuild = () => {
    const main = mainModule(edivRoot);
    return path.basename(main) === BUNDLE_MAIN && existsSync(path.join(path.dirname(main), AGENT_BUNDLE)) ? path.join(path.dirname(main), AGENT_BUNDLE) : undefined;
  };
  const found = fromBuild();
  if (found) return found;
  const script = path.join(edivRoot, 'scripts', 'build.ts');
  if (existsSync(script)) {
    const r = spawnSync(process.execPath, [script, '--quiet'], { cwd: edivRoot, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    const built = r.status === 0 ? fromBuild() : undefined;
    if (built) return built;
    throw new OperationError(`cannot build the agent bundle (node scripts/build.ts in ${edivRoot}): ${(r.stderr ?? '').trim() || `exit ${r.status}`}`);
  }
  throw new OperationError(`this ediv (${edivRoot}) has no agent bundle (${AGENT_BUNDLE}) to bring to hosts: reinstall it, or give the hosts an agentCommand`);
}
