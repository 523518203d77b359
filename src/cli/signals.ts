import type { InterruptSource } from '../controller/deploy-command.ts';

// Ctrl-C and SIGTERM for the commands that run until told to stop (status --watch, discover
// --watch, vm-advertise) or that stop cleanly when interrupted (deploy).
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Calls `handler` on each SIGINT/SIGTERM (counted from 1) until the returned function is called. */
export function onInterrupt(handler: (sig: NodeJS.Signals, count: number) => void): () => void {
  let count = 0;
  const listener = (sig: NodeJS.Signals): void => handler(sig, ++count);
  for (const s of SIGNALS) process.on(s, listener);
  return () => {
    for (const s of SIGNALS) process.off(s, listener);
  };
}

/** An AbortSignal aborted by the first SIGINT/SIGTERM; `release` removes the handlers. */
export function abortOnInterrupt(): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const release = onInterrupt(() => ac.abort());
  return { signal: ac.signal, release };
}

/** Resolves at the first SIGINT/SIGTERM. */
export function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const release = onInterrupt(() => {
      release();
      resolve();
    });
  });
}

/**
 * Ctrl-C / SIGTERM during a deploy or redeploy: the first stops it (the hosts' current step
 * ends, then `afterStop` happens); a second leaves at once, keeping the record for `ediv undeploy`.
 */
export function stoppingInterrupts(afterStop: string): InterruptSource {
  return (scenario, progress) => {
    const ac = new AbortController();
    const release = onInterrupt((sig, count) => {
      if (count > 1) {
        process.stderr.write(`ediv: ${sig} again: leaving now; the record is kept, 'ediv undeploy ${scenario}' removes what is left\n`);
        process.exit(1);
      }
      progress.warn(`${sig}: stopping; waiting for the hosts' current step, then ${afterStop} (again to leave at once)`);
      ac.abort();
    });
    return { signal: ac.signal, release };
  };
}
