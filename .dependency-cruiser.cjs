// Import rules of ediv's layers (docs/architecture.md), checked by `npm test`.
// cli → controller → {segmentators, transport, scenario, protocol, common};
// host-agent → {protocol, scenario, common}; discovery → {protocol, common};
// emulated → {transport, protocol, common}; nothing imports cli; no cycles.
const layer = (name) => `^src/${name}/`;
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Modules must not import each other in a circle.', from: {}, to: { circular: true } },
    { name: 'nothing-imports-cli', severity: 'error', comment: 'src/cli is the top layer: only its own modules and bin/ import it.', from: { pathNot: '^(src/cli/|bin/)' }, to: { path: layer('cli') } },
    {
      name: 'controller-layer',
      severity: 'error',
      comment: 'The controller uses segmentators, transport, scenario, protocol, common and the emulated cluster, never the host side.',
      from: { path: layer('controller') },
      to: { path: '^src/', pathNot: '^src/(controller|segmentators|transport|scenario|protocol|common|emulated)/' },
    },
    {
      name: 'host-agent-layer',
      severity: 'error',
      comment: 'The host agent knows only the protocol, the scenario model and common helpers.',
      from: { path: layer('host-agent') },
      to: { path: '^src/', pathNot: '^src/(host-agent|protocol|scenario|common)/' },
    },
    {
      name: 'discovery-layer',
      severity: 'error',
      comment: 'Discovery knows only the protocol and common helpers; VM states reach it through the VmInventory interface.',
      from: { path: layer('discovery') },
      to: { path: '^src/', pathNot: '^src/(discovery|protocol|common)/' },
    },
    {
      name: 'transport-layer',
      severity: 'error',
      from: { path: layer('transport') },
      to: { path: '^src/', pathNot: '^src/(transport|protocol|common)/' },
    },
    {
      name: 'emulated-layer',
      severity: 'error',
      comment: 'The emulated cluster reaches agents only through the agent protocol (a transport).',
      from: { path: layer('emulated') },
      to: { path: '^src/', pathNot: '^src/(emulated|transport|protocol|common)/' },
    },
    {
      name: 'segmentators-layer',
      severity: 'error',
      from: { path: layer('segmentators') },
      to: { path: '^src/', pathNot: '^src/(segmentators|scenario|protocol|common)/' },
    },
    {
      name: 'scenario-layer',
      severity: 'error',
      from: { path: layer('scenario') },
      to: { path: '^src/', pathNot: '^src/(scenario|common)/' },
    },
    {
      name: 'protocol-layer',
      severity: 'error',
      comment: 'Contracts depend on nothing but the scenario model and common helpers.',
      from: { path: layer('protocol') },
      to: { path: '^src/', pathNot: '^src/(protocol|scenario|common)/' },
    },
    {
      name: 'common-layer',
      severity: 'error',
      from: { path: layer('common') },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved (a typo, or an import() of a computed name that hides a dependency).',
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
