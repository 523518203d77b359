// Waiting for a quiet machine before a timed step: the benchmarks compare figures measured one
// after another in the same run, so a step that starts while the previous one's tail (a kernel
// clean-up, a daemon exiting) or someone else's job still uses the CPUs is not comparable.
//
// settle() samples /proc/stat every 250 ms and returns once the CPUs (all of them together)
// were less than `busy` busy for `quietMs` in a row, or after `maxMs` — then it warns, with
// the last sample and /proc/loadavg, and the step is timed anyway.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SettleOptions {
  /** Busy fraction below which a sample counts as quiet (default 0.2). */
  busy?: number;
  /** How long in a row it must be quiet (default 1000 ms). */
  quietMs?: number;
  /** Give up after this long (default 30 000 ms). */
  maxMs?: number;
  /** Sampling period (default 250 ms). */
  sampleMs?: number;
  /** Stop waiting early (e.g. the benchmark was interrupted). */
  signal?: AbortSignal;
  /** What is about to be timed, for the warning. */
  label?: string;
  /** Where the warning goes (default stderr). */
  warn?: (line: string) => void;
}

export interface SettleResult {
  quiet: boolean;
  waitedMs: number;
  /** Busy fraction of the last sample. */
  lastBusy: number;
}

/** [busy jiffies, total jiffies] of all CPUs since boot. */
function cpuTimes(): [number, number] {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are already in user/nice)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return [total - idle, total];
}

/** Busy fraction of the CPUs over the next `ms`. */
export async function cpuBusy(ms: number): Promise<number> {
  const [b0, t0] = cpuTimes();
  await sleep(ms);
  const [b1, t1] = cpuTimes();
  return t1 > t0 ? (b1 - b0) / (t1 - t0) : 0;
}

/** Waits (bounded) until the machine is quiet; see the module comment. */
export async function settle(o: SettleOptions = {}): Promise<SettleResult> {
  const busyMax = o.busy ?? 0.2;
  const quietMs = o.quietMs ?? 1000;
  const maxMs = o.maxMs ?? 30_000;
  const sampleMs = o.sampleMs ?? 250;
  const t0 = performance.now();
  let quietSince: number | undefined;
  let last = 0;
  while (!o.signal?.aborted) {
    last = await cpuBusy(sampleMs);
    const now = performance.now();
    if (last < busyMax) {
      quietSince ??= now - sampleMs;
      if (now - quietSince >= quietMs) return { quiet: true, waitedMs: now - t0, lastBusy: last };
    } else quietSince = undefined;
    if (now - t0 >= maxMs) break;
  }
  const waitedMs = performance.now() - t0;
  if (!o.signal?.aborted) {
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    (o.warn ?? ((l) => process.stderr.write(l + '\n')))(
      `warning: the machine was not quiet for ${(maxMs / 1000).toFixed(0)} s${o.label ? ` before ${o.label}` : ''} ` +
        `(CPUs ${(last * 100).toFixed(0)} % busy, loadavg ${load}); timing it anyway, its figure is noisy`,
    );
  }
  return { quiet: false, waitedMs, lastBusy: last };
}
