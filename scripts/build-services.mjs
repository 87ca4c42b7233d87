#!/usr/bin/env node
// `pnpm build`: bundles each service to built JavaScript, services/<name>/dist/main.js, so
// production processes (the stack, the control plane's local provisioner, the image) start
// without the tsx loader, which costs every start its TypeScript transforms. With `--if-stale`
// it builds only when a bundle is missing or older than a source, package.json or the lockfile
// (what `./dev` runs before every script, in well under a second when nothing changed).
import {
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const services = ['broker', 'replicator', 'control-plane', 'metrics'];
const outFile = (service) => join(repoRoot, 'services', service, 'dist', 'main.js');

/** The newest modification time under the sources a bundle is made of. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('dist')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|json|mjs|js)$/.test(entry.name))
        newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const top of ['services', 'packages']) walk(join(repoRoot, top));
  for (const file of ['pnpm-lock.yaml', 'scripts/build-services.mjs'])
    newest = Math.max(newest, statSync(join(repoRoot, file)).mtimeMs);
  return newest;
}

function stale() {
  const newest = newestSource();
  return services.some((service) => {
    try {
      return statSync(outFile(service)).mtimeMs < newest;
    } catch {
      return true;
    }
  });
}

/**
 * Sources find files beside them (`proto/`, the console's assets, the repository root) through
 * `import.meta.url`; in the bundle each source's `import.meta.url` becomes its original file's
 * URL, relative to the bundle, so those paths hold in any checkout.
 */
const sourceUrls = (bundleDir) => ({
  name: 'source-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /[\\/](services|packages)[\\/].*\.ts$/ }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const from = relative(bundleDir, args.path).split('\\').join('/');
      return {
        contents: source.replaceAll(
          'import.meta.url',
          `new URL(${JSON.stringify(from)}, import.meta.url).href`,
        ),
        loader: 'ts',
      };
    });
  },
});

/**
 * Only the workspace's own TypeScript is bundled. A third-party package stays a package (its
 * CommonJS finds its files through __dirname, which a bundle would break) and is imported by
 * its path relative to the bundle, as resolved here: a service's own node_modules lists only
 * its direct dependencies, while its packages' dependencies live in pnpm's store beside them.
 */
const dependenciesByPath = (bundleDir) => ({
  name: 'dependencies-by-path',
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'by-path' || args.path.startsWith('@crdr/')) return undefined;
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const resolved = await builder.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'by-path',
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (resolved.external || !resolved.path.includes('node_modules')) return resolved;
      const path = relative(bundleDir, realpathSync(resolved.path)).split('\\').join('/');
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
});

async function buildService(service) {
  const out = outFile(service);
  // Built beside, then swapped in: a process starting meanwhile finds the old or the new one.
  const next = `${dirname(out)}.next`;
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  // Loaded only to build: the staleness check alone stays quick.
  const { build } = await import('esbuild');
  await build({
    entryPoints: { main: join(repoRoot, 'services', service, 'src', 'main.ts') },
    outdir: next,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    keepNames: true,
    legalComments: 'none',
    plugins: [dependenciesByPath(dirname(out)), sourceUrls(dirname(out))],
    logLevel: 'warning',
  });
  writeFileSync(join(next, 'package.json'), '{"type": "module"}\n');
  rmSync(dirname(out), { recursive: true, force: true });
  renameSync(next, dirname(out));
  return out;
}

/**
 * Test files in parallel may each find the bundles stale: one builds, the others wait for it
 * and then find them fresh. A lock left by a killed build is taken over after a minute.
 */
async function withLock(work) {
  const lock = join(repoRoot, 'node_modules', '.build-services.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true });
      } catch {
        // released meanwhile
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isMain) {
  const ifStale = process.argv.includes('--if-stale');
  if (ifStale && !stale()) process.exit(0);
  await withLock(async () => {
    if (ifStale && !stale()) return;
    const started = performance.now();
    const built = await Promise.all(services.map(buildService));
    process.stdout.write(
      `built ${built.map((f) => relative(repoRoot, f)).join(', ')} in ${Math.round(performance.now() - started)} ms\n`,
    );
  });
}
