// round-robin (EDIV's RoundRobin): VMs in document order dealt to the active hosts in turn.
// VMs placed by restrictions go first; every other one goes to the least-loaded host where
// it fits, ties broken by the round-robin turn — with no restrictions this is exactly
// VM i → host i mod n.
import type { Segmentator } from './api.ts';
import { placeGreedy } from './greedy.ts';

export const roundRobin: Segmentator = {
  name: 'round-robin',
  description: 'VMs in document order dealt to the hosts in turn (least-loaded host first), as EDIV did',
  aliases: ['RoundRobin'],
  segment(input) {
    return placeGreedy(input, () => {
      let turn = 0;
      return (_g, feasible, pl) => {
        const H = pl.count.length;
        let best = feasible[0];
        for (const h of feasible) {
          const load = pl.count[h] - pl.count[best];
          if (load < 0 || (load === 0 && (h - turn + H) % H < (best - turn + H) % H)) best = h;
        }
        turn = (best + 1) % H;
        return best;
      };
    });
  },
};
