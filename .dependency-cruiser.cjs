// dependency-cruiser: the direction of imports as a rule (npm run lint runs `depcruise`).
// Type-only imports are followed (tsPreCompilationDeps) but cannot close a cycle: they vanish when compiled, so
// they neither change the order modules load in nor leave a half-initialised binding behind.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Modules that import each other load in an order that depends on who imported first. Move what both ' +
        'need into a module of its own (a feature queries.ts, src/core/), or invert the call.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing fails at run time; a package missing from package.json too.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-dev-deps-in-production-code',
      severity: 'error',
      comment: 'The server and worker run after `npm ci --omit=dev`: src/ may not import a devDependency.',
      from: { path: '^src/', pathNot: '^src/generated/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // test/fixtures holds a deliberate cycle, cruised on its own by test/module-boundaries.test.ts.
    exclude: { path: ['(^|/)generated/', '^dist/', '^console/dist/', '^test/fixtures/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
