// Bundles into single CommonJS files, after tsc has emitted the ESM build:
// - each worker entry (and everything it imports from src/): a new thread or process then loads one file
//   through the CommonJS loader instead of starting Node's ESM loader for six modules, which starts faster;
// - the package's entry for require('mpool'): Node 20 cannot require() the ESM build while module hooks
//   such as tsx's are active. It sits one folder deep, as runtime/ does, so the workers' relative paths hold.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The sources are ESM: give them their file URL, and import.meta.resolve, in CommonJS. Computed when first
  // read: a worker whose tasks are inline never reads them, and need not load node:url while it starts.
  define: { 'import.meta.url': '__mpoolMeta.url', 'import.meta.resolve': '__mpoolMeta.resolve' },
  banner: {
    js: [
      'const __mpoolMeta = {',
      "  get url() { return require('node:url').pathToFileURL(__filename).href; },",
      "  resolve: (s) => require('node:url').pathToFileURL(require.resolve(s)).href,",
      '};',
    ].join('\n'),
  },
  logLevel: 'warning',
};

for (const name of ['thread-entry', 'process-entry']) {
  // tsx is loaded only for TypeScript task modules, from the user's own install.
  await build({
    ...common,
    entryPoints: [`src/worker/${name}.ts`],
    outfile: `dist/worker/${name}.cjs`,
    external: ['tsx', 'tsx/*'],
  });
}
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/cjs/index.cjs',
  packages: 'external',
});
rmSync('dist/cjs/package.json', { force: true });
