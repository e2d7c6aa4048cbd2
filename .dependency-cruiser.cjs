/**
 * The layers of ../shared/SYSTEM.md §5, checked by `npm run lint`: each folder of src/ imports only the
 * folders below it (storage < raster < algebra < engine < jobs < cli), never the ones above, and no
 * module imports itself through a cycle. The files at src/'s top (errors.ts, env.ts, options.ts) are
 * below every layer; src/index.ts, the package's face, may import them all.
 */
const LAYERS = ['storage', 'raster', 'algebra', 'engine', 'jobs', 'cli'];

/** A rule forbidding `layer` to import any layer above it. */
function below(layer, above) {
  return {
    name: `${layer}-imports-only-lower-layers`,
    comment: `src/${layer} is below ${above.map((a) => `src/${a}`).join(', ')} and must not import them (SYSTEM.md §5)`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: `^src/(${above.join('|')})/` },
  };
}

module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map((layer, i) => below(layer, LAYERS.slice(i + 1))),
    {
      name: 'engine-knows-no-rasters',
      comment: 'the scheduler runs tasks by name from its task registry; raster code reaches it only as a task package (src/jobs)',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(raster|algebra)/' },
    },
    {
      name: 'aws-sdk-only-in-storage',
      comment: 'S3 is reached through src/storage (openSource, openSink, list, removeObject), so no other layer loads the AWS SDK',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/storage/' },
      to: { path: 'node_modules/@aws-sdk/' },
    },
    {
      name: 'base-files-import-no-layer',
      comment: 'src/errors.ts, env.ts and options.ts sit below every layer',
      severity: 'error',
      from: { path: '^src/[^/]+\\.ts$', pathNot: '^src/index\\.ts$' },
      to: { path: `^src/(${LAYERS.join('|')})/` },
    },
    {
      name: 'no-circular',
      comment: 'a cycle of imports makes load order matter and hides which module depends on which',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
