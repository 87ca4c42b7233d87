import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

/** The repository's root, for starting services the way `pnpm` scripts do. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

let bundlesChecked = false;

/**
 * A service's built JavaScript (`services/<name>/dist/main.js`), what production runs: built
 * by `scripts/build-services.mjs` first when missing or older than a source (checked once per
 * process), so a test never runs stale code.
 */
export function builtServiceEntry(service: string): string {
  if (!bundlesChecked) {
    execFileSync(process.execPath, [join(repoRoot, 'scripts/build-services.mjs'), '--if-stale'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    bundlesChecked = true;
  }
  return join(repoRoot, 'services', service, 'dist', 'main.js');
}

/**
 * The node arguments that run `entry`: a service's `src/main.ts` runs as its built bundle,
 * any other TypeScript file through the tsx loader.
 */
export function nodeArgsFor(entry: string): string[] {
  const service = /^services\/([a-z-]+)\/src\/main\.ts$/.exec(entry)?.[1];
  if (service !== undefined) return [builtServiceEntry(service)];
  return entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry];
}

export interface ServiceProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** What the process printed on its ENDPOINTS line. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Everything it wrote to stderr so far (its JSON logs). */
  logs(): string;
  /** `kill -9`: no clean shutdown. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  readonly exited: Promise<number | null>;
}

export interface StartServiceOptions {
  /** The entry file, relative to the repository root (`services/broker/src/main.ts`). */
  readonly entry: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts a service as a real child process (from source, through tsx) and waits for the
 * `ENDPOINTS {json}` line it prints once it listens.
 */
export function startServiceProcess(options: StartServiceOptions): Promise<ServiceProcess> {
  const child = spawn(
    process.execPath,
    // From source, through tsx: the harnesses' own processes. The stack and the control plane's
    // provisioner, which the stack tests drive, run the built bundles (nodeArgsFor). A broker
    // bundle started by a harness with CLI flags lost its client connections in
    // promotion-by-hand's failover; until that is understood the harnesses keep to the source.
    [...(options.nodeArgs ?? []), '--import', 'tsx', options.entry, ...(options.args ?? [])],
    {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  );
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 4_000_000) stderr = stderr.slice(-2_000_000);
  });
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(
        new Error(
          `${options.entry} did not print ENDPOINTS in time:\n${stdout}\n${stderr.slice(-4000)}`,
        ),
      );
    }, options.readyTimeoutMs ?? 120_000);
    void exited.then((code) => {
      clearTimeout(timer);
      rejectStart(
        new Error(
          `${options.entry} exited with ${code} before it was ready:\n${stderr.slice(-4000)}`,
        ),
      );
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^ENDPOINTS (.+)$/m.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolveStart({
        pid: child.pid!,
        child,
        endpoints: JSON.parse(match[1]!) as Record<string, string>,
        logs: () => stderr,
        exited,
        async kill(signal = 'SIGKILL') {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          await exited;
        },
      });
    });
  });
}

/** `stomp://127.0.0.1:61613` → host and port. */
export function hostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint.replace(/^(stomp|grpc):/, 'http:'));
  return { host: url.hostname, port: Number(url.port) };
}
