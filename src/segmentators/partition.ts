// Multilevel k-way partitioning of a hypergraph, minimising the connectivity-1 metric
// (Σ over nets of weight × (parts the net touches − 1)) under per-part load bounds.
//
//   1. coarsen: heavy-net matching (rating Σ w/(|e|−1) over shared nets), never merging
//      vertices fixed to different parts, nor two vertices each in a wide net of its own
//      through a lighter net (two LAN gateways through their link), until ~max(30k, 120)
//      vertices remain;
//   2. initial partition of the coarsest hypergraph: recursive bisection, each bisection the
//      best of a few greedy-grown regions refined by 2-way FM; best of a few tries kept;
//   3. uncoarsen: project the partition level by level, rebalance overloaded parts, then
//      greedy k-way refinement (boundary moves with positive gain, or zero gain towards
//      balance) — the scheme of METIS's k-way refinement, on nets instead of edges.
// Deterministic: every random choice comes from a PRNG seeded by the caller.
import { mulberry32, shuffle, type Rng } from './prng.ts';

export interface Hypergraph {
  n: number;
  /** Vertex weights (VMs per vertex). */
  vw: Int32Array;
  m: number;
  /** Net i's pins are pins[netPtr[i] .. netPtr[i+1]). No duplicate pins within a net. */
  netPtr: Int32Array;
  pins: Int32Array;
  /** Net weights. */
  nw: Int32Array;
  /** Vertex v's nets are vNets[vPtr[v] .. vPtr[v+1]). */
  vPtr: Int32Array;
  vNets: Int32Array;
}

export interface PartitionOptions {
  k: number;
  /** Upper bound on each part's load (sum of vertex weights). */
  maxLoad: number[];
  /** Target load of each part (the balanced share). */
  target: number[];
  /** Part each vertex is fixed to, or -1. */
  fixed: Int32Array;
  /** Vertices never merged during coarsening (e.g. anti-affine ones). */
  noMerge?: Uint8Array;
  /** Extra move check at the finest level (anti-affinity, memory). */
  allowed?: (v: number, part: number, part0: Int32Array) => boolean;
  seed: number;
}

/**
 * Nets of more pins than this rate only a window of this many pins when matching, and are not
 * followed when growing regions or offering FM moves: a pass stays linear in the pins.
 */
const LARGE_NET = 64;
const INITIAL_TRIES = 4;
const BISECTION_TRIES = 4;
const REFINE_PASSES = 8;

export function buildHypergraph(n: number, vw: Int32Array, nets: number[][], nw?: number[]): Hypergraph {
  const m = nets.length;
  const netPtr = new Int32Array(m + 1);
  for (let i = 0; i < m; i++) netPtr[i + 1] = netPtr[i] + nets[i].length;
  const pins = new Int32Array(netPtr[m]);
  const nwa = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    pins.set(nets[i], netPtr[i]);
    nwa[i] = nw ? nw[i] : 1;
  }
  return withIncidence(n, vw, m, netPtr, pins, nwa);
}

function withIncidence(n: number, vw: Int32Array, m: number, netPtr: Int32Array, pins: Int32Array, nw: Int32Array): Hypergraph {
  const vPtr = new Int32Array(n + 1);
  for (let i = 0; i < pins.length; i++) vPtr[pins[i] + 1]++;
  for (let v = 0; v < n; v++) vPtr[v + 1] += vPtr[v];
  const fill = vPtr.slice(0, n);
  const vNets = new Int32Array(pins.length);
  for (let e = 0; e < m; e++) for (let i = netPtr[e]; i < netPtr[e + 1]; i++) vNets[fill[pins[i]]++] = e;
  return { n, vw, m, netPtr, pins, nw, vPtr, vNets };
}

/** Σ over nets of weight × (parts touched − 1). */
export function connectivityCut(h: Hypergraph, part: Int32Array): number {
  let cut = 0;
  const seen = new Set<number>();
  for (let e = 0; e < h.m; e++) {
    seen.clear();
    for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) seen.add(part[h.pins[i]]);
    cut += h.nw[e] * (seen.size - 1);
  }
  return cut;
}

/** Number (total weight) of nets touching more than one part. */
export function cutNets(h: Hypergraph, part: Int32Array): number {
  let cut = 0;
  for (let e = 0; e < h.m; e++) {
    const p0 = part[h.pins[h.netPtr[e]]];
    for (let i = h.netPtr[e] + 1; i < h.netPtr[e + 1]; i++) {
      if (part[h.pins[i]] !== p0) {
        cut += h.nw[e];
        break;
      }
    }
  }
  return cut;
}

interface Level {
  h: Hypergraph;
  fixed: Int32Array;
  noMerge: Uint8Array;
  /** Fine vertex → coarse vertex of the next level. */
  cmap?: Int32Array;
}

/**
 * The pins of net e rated as u's partners: all of them in a net of up to LARGE_NET pins; in a
 * larger one, a window of LARGE_NET pins from its first pin still free (`cursor`, moved on past
 * matched and never-merged pins), so that a big LAN costs O(LARGE_NET) per vertex, not its size.
 */
function ratedPins(h: Hypergraph, e: number, match: Int32Array, noMerge: Uint8Array, cursor: Int32Array): [number, number] {
  const end = h.netPtr[e + 1];
  if (end - h.netPtr[e] <= LARGE_NET) return [h.netPtr[e], end];
  while (cursor[e] < end && (match[h.pins[cursor[e]]] !== -1 || noMerge[h.pins[cursor[e]]])) cursor[e]++;
  return [cursor[e], Math.min(end, cursor[e] + LARGE_NET)];
}

/** Per net, its load (sum of its pins' weights); per vertex, the load of its heaviest net. */
function netLoads(h: Hypergraph): { load: Int32Array; heaviest: Int32Array } {
  const load = new Int32Array(h.m);
  for (let e = 0; e < h.m; e++) for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) load[e] += h.vw[h.pins[i]];
  const heaviest = new Int32Array(h.n);
  for (let v = 0; v < h.n; v++) for (let j = h.vPtr[v]; j < h.vPtr[v + 1]; j++) heaviest[v] = Math.max(heaviest[v], load[h.vNets[j]]);
  return { load, heaviest };
}

function coarsen(lv: Level, maxVW: number, rng: Rng): Level & { cmapFromFine: Int32Array } {
  const { h, fixed, noMerge } = lv;
  const n = h.n;
  const match = new Int32Array(n).fill(-1);
  const rating = new Float64Array(n);
  /** Per candidate partner: the load of the heaviest net it shares with u. */
  const shared = new Int32Array(n);
  const touched: number[] = [];
  const cursor = h.netPtr.slice(0, h.m);
  const nets = netLoads(h);
  // Nets heavier than any two coarse vertices (a site's LAN, not a link between two clusters).
  // Two vertices each in a wide net of its own (two gateways) are not matched through a lighter
  // net (their point-to-point link): the pair would tie the two LANs together, chains of such
  // pairs tie many, and the partition then splits LANs in bulk, which no single move undoes.
  const wide = 2 * maxVW;
  const ties = (u: number, v: number) => {
    const own = Math.min(nets.heaviest[u], nets.heaviest[v]);
    return own > wide && shared[v] < own;
  };
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  shuffle(rng, perm);
  for (const u of perm) {
    if (match[u] !== -1) continue;
    if (noMerge[u]) {
      match[u] = u;
      continue;
    }
    for (let j = h.vPtr[u]; j < h.vPtr[u + 1]; j++) {
      const e = h.vNets[j];
      const r = h.nw[e] / (h.netPtr[e + 1] - h.netPtr[e] - 1);
      const [lo, hi] = ratedPins(h, e, match, noMerge, cursor);
      for (let i = lo; i < hi; i++) {
        const v = h.pins[i];
        if (v === u || match[v] !== -1 || noMerge[v]) continue;
        if (fixed[u] !== -1 && fixed[v] !== -1 && fixed[u] !== fixed[v]) continue;
        if (h.vw[u] + h.vw[v] > maxVW) continue;
        if (rating[v] === 0) touched.push(v);
        rating[v] += r;
        shared[v] = Math.max(shared[v], nets.load[e]);
      }
    }
    let best = -1;
    let bestR = 0;
    for (const v of touched) {
      // Prefer the heavier connection; among equals, the lighter partner (keeps weights even).
      const better = rating[v] > bestR + 1e-12 || (best !== -1 && Math.abs(rating[v] - bestR) <= 1e-12 && h.vw[v] < h.vw[best]);
      if (better && !ties(u, v)) {
        bestR = rating[v];
        best = v;
      }
      rating[v] = 0;
      shared[v] = 0;
    }
    touched.length = 0;
    if (best >= 0) {
      match[u] = best;
      match[best] = u;
    } else match[u] = u;
  }
  const cmap = new Int32Array(n).fill(-1);
  let nc = 0;
  for (let v = 0; v < n; v++) {
    if (cmap[v] !== -1) continue;
    cmap[v] = nc;
    cmap[match[v]] = nc;
    nc++;
  }
  const cvw = new Int32Array(nc);
  const cfixed = new Int32Array(nc).fill(-1);
  const cnoMerge = new Uint8Array(nc);
  for (let v = 0; v < n; v++) {
    const c = cmap[v];
    cvw[c] += h.vw[v];
    if (fixed[v] !== -1) cfixed[c] = fixed[v];
    if (noMerge[v]) cnoMerge[c] = 1;
  }
  const mark = new Int32Array(nc).fill(-1);
  const ptr: number[] = [0];
  const pins: number[] = [];
  const nw: number[] = [];
  for (let e = 0; e < h.m; e++) {
    const start = pins.length;
    for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) {
      const c = cmap[h.pins[i]];
      if (mark[c] !== e) {
        mark[c] = e;
        pins.push(c);
      }
    }
    if (pins.length - start < 2) pins.length = start;
    else {
      ptr.push(pins.length);
      nw.push(h.nw[e]);
    }
  }
  const ch = withIncidence(nc, cvw, nw.length, Int32Array.from(ptr), Int32Array.from(pins), Int32Array.from(nw));
  return { h: ch, fixed: cfixed, noMerge: cnoMerge, cmapFromFine: cmap };
}

/** Mutable partition state with per-net pin counts per part. */
class KwayState {
  readonly h: Hypergraph;
  readonly k: number;
  readonly part: Int32Array;
  readonly load: Float64Array;
  readonly cnt: Int32Array;

  constructor(h: Hypergraph, k: number, part: Int32Array) {
    this.h = h;
    this.k = k;
    this.part = part;
    this.load = new Float64Array(k);
    for (let v = 0; v < h.n; v++) this.load[part[v]] += h.vw[v];
    this.cnt = new Int32Array(h.m * k);
    for (let e = 0; e < h.m; e++) for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) this.cnt[e * k + part[h.pins[i]]]++;
  }

  move(v: number, to: number): void {
    const { h, k, part, cnt } = this;
    const from = part[v];
    for (let j = h.vPtr[v]; j < h.vPtr[v + 1]; j++) {
      const e = h.vNets[j];
      cnt[e * k + from]--;
      cnt[e * k + to]++;
    }
    this.load[from] -= h.vw[v];
    this.load[to] += h.vw[v];
    part[v] = to;
  }

  /**
   * Gains (decrease of connectivity-1) of moving v to every part, in `gain` (parts whose
   * nets v does not touch get the gain of an isolated move). Returns false when every net
   * of v lies wholly in its part (interior vertex: no move can help the cut).
   */
  gains(v: number, gain: Float64Array): boolean {
    const { h, k, part, cnt } = this;
    const a = part[v];
    let internal = 0;
    let deg = 0;
    let boundary = false;
    gain.fill(0);
    for (let j = h.vPtr[v]; j < h.vPtr[v + 1]; j++) {
      const e = h.vNets[j];
      const w = h.nw[e];
      const base = e * k;
      deg += w;
      if (cnt[base + a] === 1) internal += w;
      if (cnt[base + a] !== h.netPtr[e + 1] - h.netPtr[e]) boundary = true;
      for (let p = 0; p < k; p++) if (p !== a && cnt[base + p] > 0) gain[p] += w;
    }
    for (let p = 0; p < k; p++) gain[p] += internal - deg;
    return boundary;
  }
}

interface RefineCtx {
  maxLoad: number[];
  fixed: Int32Array;
  allowed?: (v: number, part: number, part0: Int32Array) => boolean;
  rng: Rng;
}

/** Moves vertices out of overloaded parts, cheapest (highest gain) first. */
function rebalance(st: KwayState, ctx: RefineCtx): void {
  const { h, k, part, load } = st;
  const gain = new Float64Array(k);
  for (let p = 0; p < k; p++) {
    if (load[p] <= ctx.maxLoad[p]) continue;
    const cands: { v: number; g: number }[] = [];
    for (let v = 0; v < h.n; v++) {
      if (part[v] !== p || ctx.fixed[v] !== -1) continue;
      st.gains(v, gain);
      let best = -Infinity;
      for (let q = 0; q < k; q++) if (q !== p && gain[q] > best) best = gain[q];
      cands.push({ v, g: best });
    }
    cands.sort((x, y) => y.g - x.g || x.v - y.v);
    for (const { v } of cands) {
      if (load[p] <= ctx.maxLoad[p]) break;
      st.gains(v, gain);
      let to = -1;
      for (let q = 0; q < k; q++) {
        if (q === p || load[q] + h.vw[v] > ctx.maxLoad[q]) continue;
        if (ctx.allowed && !ctx.allowed(v, q, part)) continue;
        if (to === -1 || gain[q] > gain[to] || (gain[q] === gain[to] && load[q] < load[to])) to = q;
      }
      if (to !== -1) st.move(v, to);
    }
  }
}

function refine(st: KwayState, ctx: RefineCtx, passes = REFINE_PASSES): void {
  const { h, k, part, load } = st;
  const gain = new Float64Array(k);
  const order = new Int32Array(h.n);
  for (let i = 0; i < h.n; i++) order[i] = i;
  for (let pass = 0; pass < passes; pass++) {
    shuffle(ctx.rng, order);
    let moved = 0;
    for (const v of order) {
      if (ctx.fixed[v] !== -1) continue;
      if (!st.gains(v, gain)) continue;
      const a = part[v];
      const w = h.vw[v];
      let to = -1;
      let best = 0;
      for (let p = 0; p < k; p++) {
        if (p === a || load[p] + w > ctx.maxLoad[p]) continue;
        const g = gain[p];
        const better = g > best || (g === best && (to === -1 ? load[p] + w < load[a] : load[p] < load[to]));
        if (!better) continue;
        if (ctx.allowed && !ctx.allowed(v, p, part)) continue;
        to = p;
        best = g;
      }
      if (to !== -1 && (best > 0 || load[to] + w < load[a])) {
        st.move(v, to);
        moved++;
      }
    }
    if (moved === 0) break;
  }
}

/** A max-heap of candidate moves keyed by gain (ties: lower vertex), with lazy deletion. */
class MoveHeap {
  private key: number[] = [];
  private v: number[] = [];
  private to: number[] = [];
  private stamp: number[] = [];
  get size(): number {
    return this.key.length;
  }
  private less(i: number, j: number): boolean {
    return this.key[i] < this.key[j] || (this.key[i] === this.key[j] && this.v[i] > this.v[j]);
  }
  private swap(i: number, j: number): void {
    for (const a of [this.key, this.v, this.to, this.stamp]) {
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  push(key: number, v: number, to: number, stamp: number): void {
    this.key.push(key);
    this.v.push(v);
    this.to.push(to);
    this.stamp.push(stamp);
    let i = this.key.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(parent, i)) break;
      this.swap(parent, i);
      i = parent;
    }
  }
  pop(): { key: number; v: number; to: number; stamp: number } {
    const top = { key: this.key[0], v: this.v[0], to: this.to[0], stamp: this.stamp[0] };
    const last = this.key.length - 1;
    this.swap(0, last);
    this.key.pop();
    this.v.pop();
    this.to.pop();
    this.stamp.pop();
    let i = 0;
    const n = this.key.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(m, l)) m = l;
      if (r < n && this.less(m, r)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return top;
  }
}

/** How many moves without a new best before an FM pass stops. */
const FM_PATIENCE = 120;
const FM_PASSES = 4;

/**
 * Fiduccia–Mattheyses style k-way refinement: repeatedly makes the best move of an unlocked
 * boundary vertex even when its gain is negative (to climb out of local minima), then rolls
 * back to the best prefix of the move sequence. Moves respect the load bounds.
 */
function fmRefine(st: KwayState, ctx: RefineCtx, passes = FM_PASSES): void {
  const { h, k, part, load } = st;
  const gain = new Float64Array(k);
  const stampOf = new Int32Array(h.n);
  const locked = new Uint8Array(h.n);
  const bestMove = (v: number): { to: number; g: number } | undefined => {
    if (!st.gains(v, gain)) return undefined;
    const a = part[v];
    let to = -1;
    for (let p = 0; p < k; p++) {
      if (p === a || load[p] + h.vw[v] > ctx.maxLoad[p]) continue;
      if (to !== -1 && (gain[p] < gain[to] || (gain[p] === gain[to] && load[p] >= load[to]))) continue;
      if (ctx.allowed && !ctx.allowed(v, p, part)) continue;
      to = p;
    }
    return to === -1 ? undefined : { to, g: gain[to] };
  };
  for (let pass = 0; pass < passes; pass++) {
    locked.fill(0);
    const heap = new MoveHeap();
    const offer = (v: number) => {
      if (locked[v] || ctx.fixed[v] !== -1) return;
      const m = bestMove(v);
      stampOf[v]++;
      if (m) heap.push(m.g, v, m.to, stampOf[v]);
    };
    for (let v = 0; v < h.n; v++) offer(v);
    const moved: number[] = [];
    const from: number[] = [];
    let cum = 0;
    let bestCum = 0;
    let bestLen = 0;
    while (heap.size > 0 && moved.length - bestLen < FM_PATIENCE) {
      const top = heap.pop();
      if (locked[top.v] || top.stamp !== stampOf[top.v]) continue;
      const m = bestMove(top.v);
      if (!m) continue;
      if (m.g !== top.key || m.to !== top.to) {
        stampOf[top.v]++;
        heap.push(m.g, top.v, m.to, stampOf[top.v]);
        continue;
      }
      const v = top.v;
      from.push(part[v]);
      moved.push(v);
      st.move(v, m.to);
      locked[v] = 1;
      cum += m.g;
      if (cum > bestCum) {
        bestCum = cum;
        bestLen = moved.length;
      }
      for (let j = h.vPtr[v]; j < h.vPtr[v + 1]; j++) {
        const e = h.vNets[j];
        if (h.netPtr[e + 1] - h.netPtr[e] > LARGE_NET) continue;
        for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) offer(h.pins[i]);
      }
    }
    for (let i = moved.length - 1; i >= bestLen; i--) st.move(moved[i], from[i]);
    if (bestCum <= 0) break;
  }
}

/** The sub-hypergraph induced by `verts` (nets restricted to them, dropped below 2 pins). */
function induced(h: Hypergraph, verts: number[]): Hypergraph {
  const local = new Map<number, number>();
  verts.forEach((v, i) => local.set(v, i));
  const nets: number[][] = [];
  const nw: number[] = [];
  for (let e = 0; e < h.m; e++) {
    const pins: number[] = [];
    for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) {
      const l = local.get(h.pins[i]);
      if (l !== undefined) pins.push(l);
    }
    if (pins.length > 1) {
      nets.push(pins);
      nw.push(h.nw[e]);
    }
  }
  return buildHypergraph(verts.length, Int32Array.from(verts, (v) => h.vw[v]), nets, nw);
}

/**
 * Greedy growing bisection: side 0 grows from a random seed, always taking the outside
 * vertex whose move gains most (nets it shares with side 0 minus nets it would cut), until
 * side 0 holds `want`; then 2-way FM refinement. Fixed vertices keep their side.
 */
function growBisection(h: Hypergraph, fixed: Int32Array, want: number, maxLoad: number[], rng: Rng): Int32Array {
  const part = new Int32Array(h.n).fill(1);
  const cnt0 = new Int32Array(h.m);
  let load0 = 0;
  const heap = new MoveHeap();
  const stamp = new Int32Array(h.n);
  const key = (v: number) => {
    let g = 0;
    for (let j = h.vPtr[v]; j < h.vPtr[v + 1]; j++) {
      const e = h.vNets[j];
      g += cnt0[e] > 0 ? h.nw[e] : -h.nw[e] / 2;
    }
    return g;
  };
  const take = (v: number) => {
    part[v] = 0;
    load0 += h.vw[v];
    for (let j = h.vPtr[v]; j < h.vPtr[v + 1]; j++) {
      const e = h.vNets[j];
      cnt0[e]++;
      if (h.netPtr[e + 1] - h.netPtr[e] > LARGE_NET) continue;
      for (let i = h.netPtr[e]; i < h.netPtr[e + 1]; i++) {
        const u = h.pins[i];
        if (part[u] === 1 && fixed[u] === -1) heap.push(key(u), u, 0, ++stamp[u]);
      }
    }
  };
  for (let v = 0; v < h.n; v++) if (fixed[v] === 0) take(v);
  const free: number[] = [];
  for (let v = 0; v < h.n; v++) if (fixed[v] === -1) free.push(v);
  while (load0 < want && free.length) {
    let v = -1;
    while (heap.size > 0) {
      const top = heap.pop();
      if (part[top.v] === 1 && top.stamp === stamp[top.v]) {
        v = top.v;
        break;
      }
    }
    if (v === -1) {
      // Frontier empty (disconnected): restart from a random free vertex still outside.
      const outside = free.filter((u) => part[u] === 1);
      if (!outside.length) break;
      v = outside[Math.floor(rng() * outside.length)];
    }
    if (load0 + h.vw[v] / 2 > want && load0 > 0) break;
    take(v);
  }
  const st = new KwayState(h, 2, part);
  const ctx: RefineCtx = { maxLoad, fixed, rng };
  rebalance(st, ctx);
  refine(st, ctx);
  fmRefine(st, ctx);
  return part;
}

/** Recursive bisection of `verts` into parts lo..hi-1 (best of a few grown bisections each). */
function recursiveBisection(h: Hypergraph, verts: number[], lo: number, hi: number, opts: PartitionOptions, fixed: Int32Array, out: Int32Array, rng: Rng): void {
  if (hi - lo === 1 || verts.length === 0) {
    for (const v of verts) out[v] = lo;
    return;
  }
  const mid = lo + Math.floor((hi - lo) / 2);
  let t0 = 0;
  let t1 = 0;
  for (let p = lo; p < hi; p++) (p < mid ? (t0 += opts.target[p]) : (t1 += opts.target[p]));
  const sub = induced(h, verts);
  const total = verts.reduce((a, v) => a + h.vw[v], 0);
  const want = (total * t0) / (t0 + t1);
  const subFixed = Int32Array.from(verts, (v) => (fixed[v] === -1 ? -1 : fixed[v] < mid ? 0 : 1));
  const eps = 0.03;
  const maxLoad = [Math.max(Math.ceil(want), Math.floor(want * (1 + eps))), Math.max(Math.ceil(total - want), Math.floor((total - want) * (1 + eps)))];
  let best: Int32Array | undefined;
  let bestCut = Infinity;
  for (let t = 0; t < BISECTION_TRIES; t++) {
    const part = growBisection(sub, subFixed, want, maxLoad, rng);
    let l0 = 0;
    for (let i = 0; i < sub.n; i++) if (part[i] === 0) l0 += sub.vw[i];
    const over = Math.max(0, l0 - maxLoad[0]) + Math.max(0, total - l0 - maxLoad[1]);
    const cut = over * (sub.m + 1) + connectivityCut(sub, part);
    if (cut < bestCut) {
      bestCut = cut;
      best = part;
    }
  }
  const left: number[] = [];
  const right: number[] = [];
  verts.forEach((v, i) => (best![i] === 0 ? left : right).push(v));
  recursiveBisection(h, left, lo, mid, opts, fixed, out, rng);
  recursiveBisection(h, right, mid, hi, opts, fixed, out, rng);
}

function initialPartition(lv: Level, opts: PartitionOptions, rng: Rng): Int32Array {
  const { h, fixed } = lv;
  const k = opts.k;
  let bestPart: Int32Array | undefined;
  let bestScore = Infinity;
  const all = Array.from({ length: h.n }, (_, i) => i);
  for (let t = 0; t < INITIAL_TRIES; t++) {
    const part = new Int32Array(h.n);
    recursiveBisection(h, all, 0, k, opts, fixed, part, rng);
    const st = new KwayState(h, k, part);
    const ctx = { maxLoad: opts.maxLoad, fixed, rng };
    rebalance(st, ctx);
    refine(st, ctx);
    fmRefine(st, ctx);
    let over = 0;
    for (let q = 0; q < k; q++) over += Math.max(0, st.load[q] - opts.maxLoad[q]);
    const score = over * h.m * 4 + connectivityCut(h, part);
    if (score < bestScore) {
      bestScore = score;
      bestPart = part;
    }
  }
  return bestPart!;
}

/**
 * Partitions h into opts.k parts; returns part per vertex. Runs the multilevel scheme a few
 * times with different seeds (fewer on large inputs) and keeps the smallest cut within the
 * load bounds.
 */
export function partition(h: Hypergraph, opts: PartitionOptions): Int32Array {
  const k = opts.k;
  if (k <= 1 || h.n === 0) return new Int32Array(h.n);
  const runs = h.n <= 2000 ? 4 : h.n <= 6000 ? 3 : 2;
  let best: Int32Array | undefined;
  let bestScore = Infinity;
  for (let r = 0; r < runs; r++) {
    const part = multilevel(h, { ...opts, seed: opts.seed + r * 7919 });
    const load = new Float64Array(k);
    for (let v = 0; v < h.n; v++) load[part[v]] += h.vw[v];
    let over = 0;
    for (let p = 0; p < k; p++) over += Math.max(0, load[p] - opts.maxLoad[p]);
    const score = over * (h.m + 1) + connectivityCut(h, part);
    if (score < bestScore) {
      bestScore = score;
      best = part;
    }
  }
  return best!;
}

function multilevel(h: Hypergraph, opts: PartitionOptions): Int32Array {
  const k = opts.k;
  const rng = mulberry32(opts.seed);
  const levels: Level[] = [{ h, fixed: opts.fixed, noMerge: opts.noMerge ?? new Uint8Array(h.n) }];
  const total = h.vw.reduce((a, b) => a + b, 0);
  const coarseTarget = Math.max(30 * k, 120);
  const maxVW = Math.max(1, Math.floor((1.5 * total) / coarseTarget));
  while (levels[levels.length - 1].h.n > coarseTarget) {
    const cur = levels[levels.length - 1];
    const next = coarsen(cur, maxVW, rng);
    if (next.h.n > 0.92 * cur.h.n) break;
    cur.cmap = next.cmapFromFine;
    levels.push({ h: next.h, fixed: next.fixed, noMerge: next.noMerge });
  }
  let part = initialPartition(levels[levels.length - 1], opts, rng);
  for (let l = levels.length - 2; l >= 0; l--) {
    const lv = levels[l];
    const fine = new Int32Array(lv.h.n);
    for (let v = 0; v < lv.h.n; v++) fine[v] = part[lv.cmap![v]];
    part = fine;
    const st = new KwayState(lv.h, k, part);
    const ctx: RefineCtx = { maxLoad: opts.maxLoad, fixed: lv.fixed, rng, allowed: l === 0 ? opts.allowed : undefined };
    rebalance(st, ctx);
    refine(st, ctx);
    fmRefine(st, ctx);
  }
  return part;
}

