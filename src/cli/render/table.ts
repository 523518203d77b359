// The plain text table every command's text output uses: columns padded to their widest cell.

export function table(head: string[], rows: (string | number | undefined)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}
