// The one place ediv's version comes from (package.json): `ediv --version`, the agent's facts
// and the controller's agent-version check all read it here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { edivRoot } from '../common/paths.ts';

/** Set by the build of the pushed agent bundle, which has no package.json beside it. */
declare const __EDIV_VERSION__: string | undefined;

let cached: string | undefined;

export function version(): string {
  cached ??= typeof __EDIV_VERSION__ === 'string' ? __EDIV_VERSION__ : (JSON.parse(readFileSync(path.join(edivRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
