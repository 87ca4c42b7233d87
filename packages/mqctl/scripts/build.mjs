#!/usr/bin/env node
// Builds mqctl to one JavaScript file, dist/mqctl.js, with its .proto files beside it in
// dist/proto/: a package with no dependencies to install, that starts without a TypeScript
// loader (`npm i -g` of the `pnpm pack` tarball gives an `mqctl` command).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const repoRoot = join(packageDir, '..', '..');
const dist = join(packageDir, 'dist');
const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

/** @crdr/proto finds `proto/` from its source file; in the bundle it is dist/proto/. */
const protoBesideBundle = {
  name: 'proto-beside-bundle',
  setup(builder) {
    builder.onLoad({ filter: /packages[\\/]proto[\\/]src[\\/]proto-loader\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const replaced = source.replace(
        "new URL('../../../proto/', import.meta.url)",
        "new URL('./proto/', import.meta.url)",
      );
      if (replaced === source)
        throw new Error('proto-loader.ts no longer sets protoRoot as expected');
      return { contents: replaced, loader: 'ts' };
    });
  },
};

/*
 * mqctl is a gRPC client: it needs @crdr/proto's client half only. Its index also exports the
 * server half (health, reflection) and @crdr/telemetry starts the OpenTelemetry SDK; bundling
 * those would slow every start. These two entries keep to what a client loads.
 */
const clientOnly = {
  name: 'client-only',
  setup(builder) {
    const src = (pkg, file) => join(repoRoot, 'packages', pkg, 'src', file);
    builder.onResolve({ filter: /^@crdr\/(proto|telemetry)$/ }, (args) => ({
      path: args.path,
      namespace: 'client-only',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'client-only' }, (args) => ({
      resolveDir: repoRoot,
      loader: 'ts',
      contents:
        args.path === '@crdr/proto'
          ? [
              `export { createClient } from ${JSON.stringify(src('proto', 'client.ts'))};`,
              `export { withRetry, isRetryable } from ${JSON.stringify(src('proto', 'retry.ts'))};`,
              `export { loadProto } from ${JSON.stringify(src('proto', 'proto-loader.ts'))};`,
              `export { fromGrpcError } from ${JSON.stringify(src('proto', 'status-mapping.ts'))};`,
            ].join('\n')
          : `export * from ${JSON.stringify(src('telemetry', 'propagation.ts'))};`,
    }));
  },
};

await build({
  entryPoints: [join(packageDir, 'src', 'bin.ts')],
  outfile: join(dist, 'mqctl.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  keepNames: true,
  legalComments: 'none',
  define: { MQCTL_VERSION: JSON.stringify(version) },
  // CommonJS dependencies (grpc-js) require Node's modules: give the ESM bundle a `require`.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __mqctlRequire } from 'node:module';\nconst require = __mqctlRequire(import.meta.url);",
  },
  plugins: [clientOnly, protoBesideBundle],
  logLevel: 'warning',
});

cpSync(join(repoRoot, 'proto'), join(dist, 'proto'), {
  recursive: true,
  filter: (source) => !source.includes('node_modules'),
});
writeFileSync(join(dist, 'package.json'), '{"type": "module"}\n');
process.stdout.write(`built ${join(dist, 'mqctl.js')} (mqctl ${version})\n`);
