// The drivers this host agent has, by name. Adding one: a folder next to netns/ whose module
// exports a Driver (driver.ts), and one line below; facts lists it, apply accepts it.
import { OperationError } from '../../common/errors.ts';
import type { Driver } from './driver.ts';
import { netnsDriver } from './netns/index.ts';
import { containerDriver } from './container/index.ts';

const DRIVERS: readonly Driver[] = [
  netnsDriver,
  containerDriver,
];

/** The driver of a request or deployment that names none. */
export const DEFAULT_DRIVER = netnsDriver.name;

/** Names of every driver, in registry order (what `facts` reports). */
export function driverNames(): string[] {
  return DRIVERS.map((d) => d.name);
}

/** The driver called `name` (default DEFAULT_DRIVER); an unknown name is an OperationError naming the known ones. */
export function driverFor(name: string = DEFAULT_DRIVER): Driver {
  const d = DRIVERS.find((x) => x.name === name);
  if (!d) throw new OperationError(`unknown driver ${JSON.stringify(name)} (available: ${driverNames().join(', ')})`);
  return d;
}
