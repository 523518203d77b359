// Counts SSH connections opened, per cluster host, for this process. Benchmarks and tests read
// it to check that a command opens one connection per host (reconnects after a drop count too).
const perHost = new Map<string, number>();

export function countConnection(host: string): void {
  perHost.set(host, (perHost.get(host) ?? 0) + 1);
}

export function connectionStats(): { total: number; perHost: Record<string, number> } {
  let total = 0;
  for (const n of perHost.values()) total += n;
  return { total, perHost: Object.fromEntries(perHost) };
}

export function resetConnectionStats(): void {
  perHost.clear();
}
