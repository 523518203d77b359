import { expect } from 'chai';
import { mapHosts, valuesOrThrow } from '../../../src/transport/parallel.ts';

describe('mapHosts', () => {
  it('keeps at most `limit` operations in flight and returns outcomes in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const hosts = Array.from({ length: 10 }, (_, i) => `h${i}`);
    const out = await mapHosts(hosts, 3, async (h, i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5 + ((i * 7) % 4)));
      inFlight--;
      if (h === 'h4') throw new Error('h4 down');
      return h.toUpperCase();
    });
    expect(peak).to.equal(3);
    expect(out.map((o) => (o.ok ? o.value : `error: ${(o.error as Error).message}`))).to.deep.equal([
      'H0', 'H1', 'H2', 'H3', 'error: h4 down', 'H5', 'H6', 'H7', 'H8', 'H9',
    ]);
    expect(() => valuesOrThrow(out)).to.throw('h4 down');
  });

  it('handles no hosts and a limit above the host count', async () => {
    expect(await mapHosts([], 4, async () => 1)).to.deep.equal([]);
    expect(valuesOrThrow(await mapHosts(['a', 'b'], 100, async (h) => h))).to.deep.equal(['a', 'b']);
  });
});
