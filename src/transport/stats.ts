// Counts SSH connections opened, and agent processes started (sessions and single ops), per
// cluster host, for this process. Benchmarks and tests read it to check that a command opens one
// connection and starts one agent per host (reconnects after a drop count too).
const perHost = new Map<string, number>();
const agentsPerHost = new Map<string, number>();

export function countConnection(host: string): void {
  perHost.set(host, (perHost.get(host) ?? 0) + 1);
}

export function connectionStats(): { total: number; perHost: Record<string, number> } {
  let total = 0;
  for (const n of perHost.values()) total += n;
  return { total, perHost: Object.fromEntries(perHost) };
}

export function countAgentStart(host: string): void {
  agentsPerHost.set(host, (agentsPerHost.get(host) ?? 0) + 1);
}

/** Agent processes started per host (`ediv agent session` or `ediv agent <op>`). */
export function agentStarts(): Record<string, number> {
  return Object.fromEntries(agentsPerHost);
}

export function resetConnectionStats(): void {
  perHost.clear();
  agentsPerHost.clear();
}
