// constraints: a complete search that honours every restriction and the hosts' capacity
// (maxVMs, memory), balancing load by cpu; an unsatisfiable set is an InputError naming a
// minimal set of conflicting rules.
import type { Segmentator } from './api.ts';
import { prepare } from './greedy.ts';
import { solvedMapping } from './solver.ts';

export const constraints: Segmentator = {
  name: 'constraints',
  description: 'complete search honouring every restriction and capacity (maxVMs, memory); names conflicting rules',
  segment(input) {
    return solvedMapping(input, prepare(input));
  },
};
