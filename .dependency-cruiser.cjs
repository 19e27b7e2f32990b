// The layering of docs/architecture.md ("Layout") as rules that `npm run lint` enforces: dependencies point inward.

/** An npm package, wherever its node_modules is (a linked one resolves outside the repository). */
const NPM = '(^|/)node_modules/'

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'store-not-to-slack',
      comment:
        'The store implements ports the engine declares; it never knows about Slack (shared types go in engine).',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/slack/' },
    },
    {
      name: 'slack-not-to-store',
      comment: 'Slack gets its store-backed parts (the outbox) from the composition root, src/main.ts.',
      severity: 'error',
      from: { path: '^src/slack/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'steps-not-to-store',
      comment:
        'Steps reach storage only through ports in their runner deps (e.g. RunnerDeps.kv in steps/registry.ts), wired in src/main.ts.',
      severity: 'error',
      from: { path: '^src/steps/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'core-imports-only-core',
      comment: 'core is the pure domain: it imports only core, src/errors.ts (a leaf), node builtins and npm packages.',
      severity: 'error',
      from: { path: '^src/core/', pathNot: '[.]test[.]ts$' },
      to: { pathNot: ['^src/core/', '^src/errors[.]ts$', NPM], dependencyTypesNot: ['core'] },
    },
    {
      name: 'core-tests-only-core',
      comment: 'A core test may use, besides what core may, only the shared test fakes in test/support.',
      severity: 'error',
      from: { path: '^src/core/.+[.]test[.]ts$' },
      to: {
        pathNot: ['^src/core/', '^src/errors[.]ts$', '^test/support/', NPM],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'errors-is-a-leaf',
      comment: 'src/errors.ts is imported by every layer, core included, so it imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/errors[.]ts$' },
      to: { pathNot: NPM, dependencyTypesNot: ['core'] },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one: neither can be understood, tested or moved without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: NPM },
    // Type-only imports count: a layer that names another's types depends on it as much as one that calls it.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
}
