// Import rules of ediv's layers (docs/architecture.md), checked by `npm test`.
// Each layer may import itself and the layers listed for it; nothing imports cli; no cycles.
const MAY_IMPORT = {
  controller: ['segmentators', 'transport', 'state', 'scenario', 'protocol', 'common', 'emulated'],
  state: ['protocol', 'common'],
  emulated: ['transport', 'protocol', 'common'],
  segmentators: ['scenario', 'protocol', 'common'],
  transport: ['protocol', 'common'],
  'host-agent': ['protocol', 'scenario', 'common'],
  discovery: ['protocol', 'common'],
  scenario: ['common'],
  protocol: ['scenario', 'common'],
  common: [],
};

const layerRules = Object.entries(MAY_IMPORT).map(([layer, allowed]) => ({
  name: `${layer}-layer`,
  severity: 'error',
  comment: `src/${layer} may import only ${allowed.length ? allowed.map((l) => `src/${l}`).join(', ') : 'node modules'} (docs/architecture.md).`,
  from: { path: `^src/${layer}/` },
  to: { path: '^src/', pathNot: `^src/(${[layer, ...allowed].join('|')})/` },
}));

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Modules must not import each other in a circle.', from: {}, to: { circular: true } },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment: 'src/cli is the top layer: only its own modules and bin/ import it.',
      from: { pathNot: '^(src/cli/|bin/)' },
      to: { path: '^src/cli/' },
    },
    ...layerRules,
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved (a typo, or a module that is not there).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    parser: 'swc',
    tsPreCompilationDeps: true,
    exclude: { path: '^node_modules' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
