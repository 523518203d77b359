// Bounds on the work strangers on the management network can make a daemon or a control point
// do: token buckets (SSDP answers per source address and overall) and a task limiter (how many
// event deliveries or description fetches run at once, and how many may wait).

/** A token bucket: `capacity` tokens, refilled at `perSecond`; the clock is injectable for tests. */
export class TokenBucket {
  private readonly capacity: number;
  private readonly perSecond: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(capacity: number, perSecond: number, now: () => number = Date.now) {
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.now = now;
    this.tokens = capacity;
    this.last = now();
  }

  /** Whether `n` tokens are there now (after the refill since the last look); does not take them. */
  has(n: number): boolean {
    this.refill();
    return this.tokens >= n;
  }

  /** Takes `n` tokens when there are that many; else takes none and says false. */
  take(n: number): boolean {
    if (!this.has(n)) return false;
    this.tokens -= n;
    return true;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }
}

/**
 * One bucket per key (a source address) plus one for all of them together. The per-key table
 * is bounded: when full, the oldest key is forgotten (a flood of spoofed sources cannot grow
 * memory; the overall bucket still bounds what they get).
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly overall: TokenBucket;
  private readonly make: () => TokenBucket;
  private readonly maxKeys: number;

  constructor(opts: { perKey: () => TokenBucket; overall: TokenBucket; maxKeys?: number }) {
    this.make = opts.perKey;
    this.overall = opts.overall;
    this.maxKeys = opts.maxKeys ?? 1024;
  }

  /** Takes `n` tokens from the key's bucket and the overall one, or from neither. */
  take(key: string, n: number): boolean {
    const own = this.bucketOf(key);
    if (!own.has(n) || !this.overall.has(n)) return false;
    own.take(n);
    this.overall.take(n);
    return true;
  }

  private bucketOf(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = this.make();
      this.buckets.set(key, b);
    }
    return b;
  }
}

export class QueueFull extends Error {}

/**
 * Runs at most `concurrency` tasks at once; at most `maxQueued` more wait (in order). A task
 * beyond that is refused at once (QueueFull): load sheds instead of piling up.
 */
export class TaskLimiter {
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(concurrency: number, maxQueued: number) {
    this.concurrency = concurrency;
    this.maxQueued = maxQueued;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) throw new QueueFull(`more than ${this.maxQueued} tasks waiting`);
      // Woken with the slot of a finished task (still counted in `active`): no one can take it meanwhile.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
