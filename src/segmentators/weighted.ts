// weighted (EDIV's WeightedRoundRobin): each host receives a share of the VMs proportional
// to its relative speed (`cpu`), rounded fairly (Sainte-Laguë, see proportionalChooser).
import type { Segmentator } from './api.ts';
import { placeGreedy, proportionalChooser } from './greedy.ts';
import { cpuWeights } from './problem.ts';

export const weighted: Segmentator = {
  name: 'weighted',
  description: "shares proportional to each host's cpu speed, fairly rounded (Sainte-Laguë)",
  aliases: ['WeightedRoundRobin'],
  segment(input) {
    return placeGreedy(input, (p) => proportionalChooser(p, cpuWeights(p.hosts)));
  },
};
