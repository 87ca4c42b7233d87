/**
 * Validates the deployment files without a Docker engine or a cluster; run by
 * scripts/validate-deploy.sh (which installs the tools) in CI:
 *
 * - Dockerfile: multi-stage, pinned pnpm, frozen lockfile, node:20-bookworm-slim, non-root,
 *   HEALTHCHECK; its entry point runs each service exactly as package.json and the stack do.
 * - docker-compose.yml: resolved by a real compose parser (`docker-compose config`), then the
 *   project's rules (networks, health checks, commands) and each service's environment parsed
 *   by that service's own config schema.
 * - NATS configurations: `nats-server -t` with the generated certificates.
 * - deploy/k8s: each overlay rendered by kustomize (`kubectl kustomize`), every object validated
 *   against the Kubernetes schemas, the project's rules, the two Regions checked against each
 *   other, each service's environment parsed by its config schema.
 * - And proof that each of these rejects a broken input, so a green run means something.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  checkCompose,
  checkDockerfile,
  checkEntrypointCommand,
  checkKubernetesObjects,
  checkRegionPair,
  composeEnvironment,
  containerEnvironment,
  declaredSettings,
  formatProblems,
  imageServices,
  parseYamlDocuments,
  serviceEntries,
  type ImageService,
  unknownSettings,
  type Problem,
} from './deploy-checks.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const regions = [
  { region: 'region-a', namespace: 'crdr-region-a', suffix: 'a' },
  { region: 'region-b', namespace: 'crdr-region-b', suffix: 'b' },
] as const;

let failures = 0;
let passes = 0;

function report(name: string, problems: readonly Problem[]): void {
  if (problems.length === 0) {
    passes += 1;
    console.log(`ok   ${name}`);
  } else {
    failures += 1;
    console.log(`FAIL ${name}\n${formatProblems(problems)}`);
  }
}

interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error !== undefined) {
    return { status: 127, stdout: '', stderr: `${command}: ${result.error.message}` };
  }
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

function tool(name: string, result: RunResult): Problem[] {
  return result.status === 0
    ? []
    : [{ where: name, message: `exited ${result.status}: ${result.stderr.trim().slice(0, 2000)}` }];
}

interface Loader {
  readonly load: (env: Record<string, string>) => unknown;
  readonly declared: ReadonlySet<string>;
}

/** Each service's own `loadConfig(env)`: the environment the deployments give it must parse. */
async function configLoaders(): Promise<Map<ImageService, Loader>> {
  const loaders = new Map<ImageService, Loader>();
  for (const service of imageServices) {
    const file = join(root, 'services', service, 'src', 'config.ts');
    if (!existsSync(file)) {
      console.log(
        `note services/${service}/src/config.ts does not exist: its environment is not checked`,
      );
      continue;
    }
    const module = (await import(pathToFileURL(file).href)) as { loadConfig?: unknown };
    if (typeof module.loadConfig !== 'function') {
      report(`services/${service}/src/config.ts exports loadConfig`, [
        { where: file, message: 'no loadConfig(env) export' },
      ]);
      continue;
    }
    loaders.set(service, {
      load: module.loadConfig as Loader['load'],
      declared: declaredSettings(readFileSync(file, 'utf8')),
    });
  }
  return loaders;
}

function checkEnvironment(
  where: string,
  service: ImageService,
  env: Record<string, string> | undefined,
  loaders: ReadonlyMap<ImageService, Loader>,
): Problem[] {
  const loader = loaders.get(service);
  if (loader === undefined) return [];
  if (env === undefined) return [{ where, message: 'not found' }];
  const problems = unknownSettings(where, service, env, loader.declared);
  try {
    loader.load(env);
  } catch (error) {
    problems.push({
      where,
      message: `${service} config rejects it: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  return problems;
}

function natsConfigTest(file: string, server: string, certs: string): RunResult {
  const scratch = mkdtempSync(join(tmpdir(), 'crdr-nats-conf-'));
  try {
    const text = readFileSync(join(root, file), 'utf8')
      .replaceAll('/certs/server.pem', join(certs, `${server}.pem`))
      .replaceAll('/certs/server-key.pem', join(certs, `${server}-key.pem`))
      .replaceAll('/certs/ca.pem', join(certs, 'ca.pem'))
      .replaceAll('/etc/nats/tls/tls.crt', join(certs, `${server}.pem`))
      .replaceAll('/etc/nats/tls/tls.key', join(certs, `${server}-key.pem`))
      .replaceAll('/etc/nats/tls/ca.crt', join(certs, 'ca.pem'))
      .replaceAll('/data/jetstream', join(scratch, 'jetstream'));
    const conf = join(scratch, 'nats.conf');
    writeFileSync(conf, text);
    return run(process.env['NATS_SERVER'] ?? 'nats-server', ['-c', conf, '-t'], {
      NATS_SERVER_NAME: server,
      POD_NAME: `${server}-0`,
      NATS_ADMIN_PASSWORD: 'validate-admin',
      NATS_REPLICATION_PASSWORD: 'validate-replication',
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function kustomize(dir: string): RunResult {
  return run(process.env['KUBECTL'] ?? 'kubectl', ['kustomize', dir]);
}

/** Copies what the Dockerfile's build context holds (no node_modules, tests or deploy files). */
function copyBuildContext(target: string): void {
  const skip =
    /(^|\/)(node_modules|dist|\.stack|bench|coverage|test-results)(\/|$)|\.test\.ts$|\.test-helper\.ts$/;
  for (const file of [
    'package.json',
    'pnpm-lock.yaml',
    'pnpm-workspace.yaml',
    '.npmrc',
    'tsconfig.json',
    'tsconfig.base.json',
    'test/package.json',
  ]) {
    if (existsSync(join(root, file))) cpSync(join(root, file), join(target, file));
  }
  for (const dir of ['packages', 'services', 'proto', 'scripts']) {
    cpSync(join(root, dir), join(target, dir), {
      recursive: true,
      filter: (source) => !skip.test(source.slice(root.length)),
    });
  }
}

function productionTree(entries: ReadonlyMap<ImageService, string>): Problem[] {
  const scratch = mkdtempSync(join(tmpdir(), 'crdr-image-tree-'));
  try {
    copyBuildContext(scratch);
    const inScratch = (args: readonly string[]): RunResult => {
      const result = spawnSync('pnpm', args, {
        cwd: scratch,
        encoding: 'utf8',
        env: { ...process.env, CI: 'true' },
      });
      return result.error === undefined
        ? { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr }
        : { status: 127, stdout: '', stderr: `pnpm: ${result.error.message}` };
    };
    const fetched = inScratch(['fetch', '--prod']);
    if (fetched.status !== 0) return tool('pnpm fetch --prod', fetched);
    const installed = inScratch(['install', '--offline', '--frozen-lockfile', '--prod']);
    if (installed.status !== 0)
      return tool('pnpm install --offline --frozen-lockfile --prod', installed);
    const problems: Problem[] = [];
    for (const [service, entry] of entries) {
      const server = entry.replace(/main\.ts$/, 'server.ts');
      const module = existsSync(join(scratch, server)) ? server : entry;
      if (module === entry) {
        problems.push({
          where: service,
          message: `no ${server} to load without starting the service`,
        });
        continue;
      }
      const loaded = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', `await import('./${module}')`],
        {
          cwd: scratch,
          encoding: 'utf8',
          env: { ...process.env, NODE_ENV: 'production' },
        },
      );
      if (loaded.status !== 0) {
        problems.push({
          where: service,
          message: `${module} does not load from the production tree: ${loaded.stderr.trim().slice(0, 1500)}`,
        });
      }
    }
    for (const file of ['scripts/grpc-health.mjs']) {
      const loaded = spawnSync(process.execPath, [file, '--timeout-ms', 'x'], {
        cwd: scratch,
        encoding: 'utf8',
      });
      if (!/--timeout-ms must be a positive integer/.test(loaded.stderr)) {
        problems.push({
          where: file,
          message: `does not start from the production tree: ${loaded.stderr.trim().slice(0, 800)}`,
        });
      }
    }
    return problems;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
    packageManager?: string;
  };
  const { entries, problems: scriptProblems } = serviceEntries(manifest.scripts ?? {});
  report('package.json runs each service as tsx <entry>', scriptProblems);
  const serviceNames = new Set<string>(entries.keys());
  const loaders = await configLoaders();

  // --- Dockerfile and entry point --------------------------------------------------------------
  const pnpmVersion = /^pnpm@(.+)$/.exec(manifest.packageManager ?? '')?.[1] ?? '(packageManager)';
  report(
    'Dockerfile',
    checkDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'), pnpmVersion),
  );
  const entrypointProblems: Problem[] = [];
  for (const [service, entry] of entries) {
    const printed = run('sh', ['deploy/docker/entrypoint.sh', service], {
      CRDR_APP_DIR: root,
      CRDR_ENTRYPOINT_PRINT: '1',
    });
    entrypointProblems.push(...tool(`entrypoint ${service}`, printed));
    if (printed.status === 0)
      entrypointProblems.push(...checkEntrypointCommand(service, entry, printed.stdout));
  }
  const refused = run('sh', ['deploy/docker/entrypoint.sh', 'lint'], {
    CRDR_APP_DIR: root,
    CRDR_ENTRYPOINT_PRINT: '1',
  });
  if (refused.status === 0) {
    entrypointProblems.push({
      where: 'deploy/docker/entrypoint.sh',
      message: 'accepted "lint", which is not a service',
    });
  }
  // The local stack starts the service of each entry in its `entries` map (as its built
  // JavaScript, through @crdr/testing's nodeArgsFor).
  const stack = join(root, 'packages/stack/src/region-services.ts');
  if (existsSync(stack)) {
    const source = readFileSync(stack, 'utf8');
    if (!source.includes('nodeArgsFor(entries[service])')) {
      entrypointProblems.push({
        where: stack,
        message:
          'the stack no longer starts services with nodeArgsFor(<entry>): align the entry point',
      });
    }
    for (const [service, entry] of entries) {
      const started = new RegExp(`'?${service}'?: '([^']+)'`).exec(source)?.[1];
      if (started !== undefined && started !== entry) {
        entrypointProblems.push({
          where: stack,
          message: `the stack starts ${service} from ${started}, package.json from ${entry}`,
        });
      }
    }
  }
  report(
    'image entry point runs the same commands as package.json and the stack',
    entrypointProblems,
  );

  // --- docker-compose.yml ----------------------------------------------------------------------
  const secrets = run('bash', ['deploy/docker/gen-secrets.sh']);
  report('deploy/docker/gen-secrets.sh', tool('gen-secrets.sh', secrets));
  const certs = join(root, 'deploy/docker/generated');
  const compose = run(process.env['DOCKER_COMPOSE'] ?? 'docker-compose', [
    '-f',
    'docker-compose.yml',
    'config',
  ]);
  report('docker-compose config', tool('docker-compose config', compose));
  if (compose.status === 0) {
    const config = parseYamlDocuments(compose.stdout, 'docker-compose config')[0];
    report('docker-compose.yml rules', checkCompose(config, serviceNames));
    const envProblems: Problem[] = [];
    for (const { suffix } of regions) {
      for (const [name, service] of [
        [`control-plane-${suffix}`, 'control-plane'],
        [`metrics-${suffix}`, 'metrics'],
        [`broker-orders-${suffix}`, 'broker'],
        [`replicator-${suffix}`, 'replicator'],
      ] as const) {
        envProblems.push(
          ...checkEnvironment(
            `docker-compose.yml ${name}`,
            service,
            composeEnvironment(config, name),
            loaders,
          ),
        );
      }
    }
    report("docker-compose.yml environments parse with the services' config", envProblems);
  }

  // --- the image's dependency tree, without an engine ------------------------------------------
  // The Dockerfile's deps stage (pnpm fetch --prod, pnpm install --offline --frozen-lockfile
  // --prod) on a copy of the build context; then every service's module graph must load from
  // that production tree alone, as it will in the image (a devDependency imported at run time
  // would fail here).
  report('production dependency tree (the Dockerfile deps stage)', productionTree(entries));

  // --- NATS configurations ---------------------------------------------------------------------
  report(
    'deploy/docker/nats/nats.conf (nats-server -t)',
    tool('nats-server -t', natsConfigTest('deploy/docker/nats/nats.conf', 'nats-a', certs)),
  );
  report(
    'deploy/k8s/base/nats.conf (nats-server -t)',
    tool('nats-server -t', natsConfigTest('deploy/k8s/base/nats.conf', 'nats-b', certs)),
  );

  // --- Kubernetes ------------------------------------------------------------------------------
  const rendered: { region: string; namespace: string; objects: unknown[] }[] = [];
  for (const { region, namespace } of regions) {
    const out = kustomize(`deploy/k8s/overlays/${region}`);
    report(`kustomize overlays/${region}`, tool('kubectl kustomize', out));
    if (out.status !== 0) continue;
    const objects = parseYamlDocuments(out.stdout, `overlays/${region}`);
    console.log(`     ${objects.length} objects`);
    report(
      `overlays/${region}: Kubernetes schemas and rules`,
      checkKubernetesObjects(objects, serviceNames),
    );
    const envProblems: Problem[] = [];
    for (const [workload, service] of [
      ['control-plane', 'control-plane'],
      ['metrics', 'metrics'],
      ['broker-orders', 'broker'],
      ['replicator-orders', 'replicator'],
    ] as const) {
      envProblems.push(
        ...checkEnvironment(
          `overlays/${region} ${workload}`,
          service,
          containerEnvironment(objects, workload, service),
          loaders,
        ),
      );
    }
    report(`overlays/${region}: environments parse with the services' config`, envProblems);
    rendered.push({ region, namespace, objects });
  }
  if (rendered.length === 2)
    report('overlays point at each other', checkRegionPair(rendered[0]!, rendered[1]!));

  // --- the checks reject broken inputs -----------------------------------------------------------
  const scratch = mkdtempSync(join(tmpdir(), 'crdr-validate-deploy-'));
  try {
    const proofs: Problem[] = [];
    // A broken overlay: a string where an integer goes, a probe removed, a second region-a role.
    cpSync(join(root, 'deploy/k8s'), join(scratch, 'k8s'), { recursive: true });
    const overlay = join(scratch, 'k8s/overlays/region-a/kustomization.yaml');
    const brokenPatch = [
      '  - target:',
      '      kind: Deployment',
      '      name: metrics',
      '    patch: |-',
      '      - op: replace',
      '        path: /spec/replicas',
      '        value: two',
      '      - op: remove',
      '        path: /spec/template/spec/containers/0/readinessProbe',
    ].join('\n');
    writeFileSync(
      overlay,
      readFileSync(overlay, 'utf8').replace('\npatches:\n', `\npatches:\n${brokenPatch}\n`),
    );
    const broken = kustomize(join(scratch, 'k8s/overlays/region-a'));
    if (broken.status !== 0) {
      proofs.push({
        where: 'proof',
        message: `kustomize could not render the broken overlay: ${broken.stderr.trim()}`,
      });
    } else {
      const found = checkKubernetesObjects(
        parseYamlDocuments(broken.stdout, 'broken overlay'),
        serviceNames,
      );
      const text = formatProblems(found);
      if (!/replicas must be integer/.test(text) || !/readinessProbe is missing/.test(text)) {
        proofs.push({
          where: 'proof',
          message: `a broken Deployment was not rejected; found:\n${text}`,
        });
      }
    }
    // A broken compose file: an unknown healthcheck key.
    const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace(
      '  interval: 10s',
      '  intervall: 10s',
    );
    writeFileSync(join(scratch, 'docker-compose.yml'), composeText);
    const brokenCompose = run(process.env['DOCKER_COMPOSE'] ?? 'docker-compose', [
      '-f',
      join(scratch, 'docker-compose.yml'),
      '--project-directory',
      root,
      'config',
      '-q',
    ]);
    if (brokenCompose.status === 0)
      proofs.push({
        where: 'proof',
        message: 'docker-compose accepted an unknown healthcheck key',
      });
    // A broken NATS configuration.
    writeFileSync(join(scratch, 'nats.conf'), 'listen: 0.0.0.0:4222\njetstream {\n');
    if (
      run(process.env['NATS_SERVER'] ?? 'nats-server', ['-c', join(scratch, 'nats.conf'), '-t'])
        .status === 0
    ) {
      proofs.push({ where: 'proof', message: 'nats-server accepted a broken configuration' });
    }
    report('the validators reject broken inputs', proofs);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  console.log(`\nvalidate-deploy: ${passes} passed, ${failures} failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

await main();
