// Progress reporting for long controller commands. Three renderers behind one interface:
// - on a terminal, one redrawn line per host on stderr ("host2  apply  12/40 VMs up");
// - with --json, one JSON object per line on stderr, for scripts;
// - otherwise (a log, a pipe), plain readable lines.
// Command results never go through here: they are printed on stdout by the CLI.

export interface ProgressDetail {
  message?: string;
  done?: number;
  total?: number;
}

export interface Progress {
  /** What `host` is doing now (step names: connect, facts, apply, destroy, exec, status...). */
  host(host: string, step: string, detail?: ProgressDetail): void;
  /** A controller-level message (planning, rolling back...). */
  info(message: string): void;
  warn(message: string): void;
  /** Final redraw, before the command prints its result; later calls and updates are ignored. */
  done(): void;
}

export const silentProgress: Progress = {
  host() {},
  info() {},
  warn() {},
  done() {},
};

/** `progress`, with its warnings also handed to `onWarning` (a command's report collects them). */
export function collectingWarnings(progress: Progress, onWarning: (message: string) => void): Progress {
  return {
    host: (host, step, detail) => progress.host(host, step, detail),
    info: (message) => progress.info(message),
    warn: (message) => {
      onWarning(message);
      progress.warn(message);
    },
    done: () => progress.done(),
  };
}

interface Writable {
  write(s: string): unknown;
}

/** JSON lines on a stream: {"type":"progress","host":...,"step":...} / {"type":"info"|"warning",...}. */
export class JsonLinesProgress implements Progress {
  private readonly out: Writable;
  constructor(out: Writable = process.stderr) {
    this.out = out;
  }
  private emit(obj: Record<string, unknown>): void {
    this.out.write(JSON.stringify({ ...obj, time: new Date().toISOString() }) + '\n');
  }
  host(host: string, step: string, detail: ProgressDetail = {}): void {
    this.emit({ type: 'progress', host, step, ...detail });
  }
  info(message: string): void {
    this.emit({ type: 'info', message });
  }
  warn(message: string): void {
    this.emit({ type: 'warning', message });
  }
  done(): void {}
}

const CLEAR_LINE = '\x1b[2K';
const cursorUp = (n: number): string => (n > 0 ? `\x1b[${n}F` : '\r');

/**
 * Live per-host lines on a terminal. Messages (info/warn) are printed above the block of
 * host lines, which is then redrawn; redraws are throttled so a chatty agent costs little.
 */
export class TtyProgress implements Progress {
  private readonly out: Writable;
  private readonly lines = new Map<string, { step: string; detail: ProgressDetail; started: number }>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly minIntervalMs: number;
  private lastDraw = 0;
  /** After done(): the block stays as last drawn (stdout output follows it). */
  private finished = false;

  constructor(out: Writable = process.stderr, opts: { minIntervalMs?: number } = {}) {
    this.out = out;
    this.minIntervalMs = opts.minIntervalMs ?? 80;
  }

  host(host: string, step: string, detail: ProgressDetail = {}): void {
    const prev = this.lines.get(host);
    this.lines.set(host, { step, detail, started: prev && prev.step === step ? prev.started : Date.now() });
    if (!this.finished) this.schedule();
  }

  info(message: string): void {
    this.printAbove(message);
  }

  warn(message: string): void {
    this.printAbove(`warning: ${message}`);
  }

  done(): void {
    if (this.finished) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
    this.finished = true;
  }

  private printAbove(message: string): void {
    if (this.finished) {
      this.out.write(message + '\n');
      return;
    }
    this.out.write(this.erase() + message + '\n');
    this.drawn = 0;
    this.draw();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.minIntervalMs - (Date.now() - this.lastDraw));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
    this.timer.unref?.();
  }

  private erase(): string {
    if (this.drawn === 0) return '';
    let s = cursorUp(this.drawn);
    for (let i = 0; i < this.drawn; i++) s += CLEAR_LINE + '\n';
    return s + cursorUp(this.drawn);
  }

  private draw(): void {
    this.lastDraw = Date.now();
    const width = Math.max(...[...this.lines.keys()].map((h) => h.length), 4);
    let s = this.erase();
    for (const [host, { step, detail }] of this.lines) s += CLEAR_LINE + formatHostLine(host, width, step, detail) + '\n';
    this.drawn = this.lines.size;
    this.out.write(s);
  }
}

export function formatHostLine(host: string, width: number, step: string, d: ProgressDetail): string {
  let s = `${host.padEnd(width)}  ${step}`;
  if (d.total !== undefined) s += `  ${d.done ?? 0}/${d.total}`;
  if (d.message) s += `  ${d.message}`;
  return s;
}

/**
 * Readable lines for a log or a pipe (no terminal, no --json): a line when a host starts a new
 * step or says something new, and, for a counted step, at each quarter done; messages as they
 * come. Nothing is redrawn, so the lines read well in CI logs.
 */
export class PlainLinesProgress implements Progress {
  private readonly out: Writable;
  private readonly last = new Map<string, { step: string; quarter: number; message?: string }>();

  constructor(out: Writable = process.stderr) {
    this.out = out;
  }

  host(host: string, step: string, detail: ProgressDetail = {}): void {
    const prev = this.last.get(host);
    const quarter = detail.total ? Math.floor((4 * (detail.done ?? 0)) / detail.total) : 0;
    const same = prev !== undefined && prev.step === step && quarter <= prev.quarter && (detail.total !== undefined || detail.message === prev.message);
    if (same) return;
    this.last.set(host, { step, quarter, message: detail.message });
    this.out.write(formatHostLine(host, 6, step, detail) + '\n');
  }

  info(message: string): void {
    this.out.write(message + '\n');
  }

  warn(message: string): void {
    this.out.write(`warning: ${message}\n`);
  }

  done(): void {}
}

/** How progress is shown (`--progress`): `auto` is json with --json, else live on a terminal, else plain lines. */
export const PROGRESS_MODES = ['auto', 'live', 'plain', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

/** The renderer a command should use: `mode` when given, else JSON lines with --json, else live lines on a TTY, else plain lines. */
export function progressFor(opts: { json?: boolean; mode?: ProgressMode; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  const mode = opts.mode && opts.mode !== 'auto' ? opts.mode : opts.json ? 'json' : stream.isTTY ? 'live' : 'plain';
  switch (mode) {
    case 'json':
      return new JsonLinesProgress(stream);
    case 'live':
      return new TtyProgress(stream);
    case 'plain':
      return new PlainLinesProgress(stream);
    case 'none':
      return silentProgress;
  }
}
