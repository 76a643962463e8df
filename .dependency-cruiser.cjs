/**
 * The layering `npm test` enforces (npm run lint). The engine (src/engine) is pure TypeScript over
 * tfjs; the page (src/ui, src/main.tsx) never loads tfjs: it talks to the training worker through
 * typed messages, and may use type-only imports and the engine's tfjs-free modules (settings,
 * presets, experiment definitions). DOM globals in the engine are refused by the engine's own
 * typecheck (tsconfig.engine.json, no DOM library).
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: modules that cannot be understood, tested or loaded one without the other.',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'page-never-loads-tfjs',
      severity: 'error',
      comment: 'The page would load tfjs (directly or through an engine module that does): training belongs in the worker.',
      from: { path: '^src/(ui/|main\\.tsx)', pathNot: '\\.test\\.ts$' },
      to: { path: '@tensorflow', reachable: true },
    },
    {
      name: 'engine-stays-pure',
      severity: 'error',
      comment: 'The engine and the backend kernels run in the worker and in Node: no UI, worker, storage, runner or React code in them.',
      from: { path: '^src/(engine|kernels)/', pathNot: '\\.test\\.ts$|^src/engine/testing/' },
      to: { path: '^src/(ui|worker|storage|runner|headless)/|^src/main\\.tsx|react|zustand|recharts' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports vanish when TypeScript compiles: they load nothing and cannot form a runtime cycle.
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
