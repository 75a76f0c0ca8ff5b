// Bundles each worker entry (and everything it imports from src/) into one CommonJS file in dist/worker/.
// A new thread or process then loads one file through the CommonJS loader instead of starting Node's ESM
// loader for six modules: about 10 ms off every worker's start on these machines. tsc still emits the ESM
// entries beside them; the runtimes start the bundles when they run from dist/.
import { build } from 'esbuild';

for (const name of ['thread-entry', 'process-entry']) {
  await build({
    entryPoints: [`src/worker/${name}.ts`],
    outfile: `dist/worker/${name}.cjs`,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // tsx is loaded only for TypeScript task modules, from the user's own install.
    external: ['tsx', 'tsx/*'],
    // The sources are ESM: give them their file URL in CommonJS.
    define: { 'import.meta.url': '__mpoolFileUrl' },
    banner: { js: "const __mpoolFileUrl = require('node:url').pathToFileURL(__filename).href;" },
    sourcemap: true,
    logLevel: 'warning',
  });
}
