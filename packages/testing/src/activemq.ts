import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { waitFor } from './wait-for.js';

/**
 * A real Apache ActiveMQ 5.x (Debian's `activemq` package, installed by
 * scripts/ensure-activemq.sh) on loopback, for the differential tests that run the same client
 * scenarios against it and against our broker. Each handle is its own JVM with its own folder and
 * ports; the system service (`/etc/init.d/activemq`) is never used.
 */
export interface ActiveMqHandle {
  readonly host: string;
  readonly stompPort: number;
  /** The instance's temporary folder: activemq.xml, data, tmp, output. */
  readonly dir: string;
  /** What the JVM printed so far. */
  logs(): string;
  /** Stops the JVM and removes its folder. */
  close(): Promise<void>;
}

export interface ActiveMqOptions {
  /** Users of a simpleAuthenticationPlugin; default admin/admin. */
  readonly users?: readonly { readonly name: string; readonly password: string }[];
  /** Extra attributes of the STOMP transport URI (`transport.maxFrameSize=...`). */
  readonly stompOptions?: Readonly<Record<string, string>>;
  /** Default `$ACTIVEMQ_HOME`, then /usr/share/activemq (Debian). */
  readonly home?: string;
  /** Default 120 s: a JVM on two busy cores can take tens of seconds. */
  readonly readyTimeoutMs?: number;
}

const host = '127.0.0.1';

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** activemq.xml: in-memory store, no JMX, one STOMP connector, the given users. */
export function renderActiveMqXml(options: {
  readonly dataDir: string;
  readonly port: number;
  readonly users: readonly { readonly name: string; readonly password: string }[];
  readonly stompOptions?: Readonly<Record<string, string>>;
}): string {
  const query = Object.entries(options.stompOptions ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('&amp;');
  const users = options.users
    .map(
      (u) =>
        `          <authenticationUser username="${escapeXml(u.name)}" password="${escapeXml(u.password)}" groups="admins"/>`,
    )
    .join('\n');
  return `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="differential"
          persistent="false" advisorySupport="false" dataDirectory="${escapeXml(options.dataDir)}">
    <plugins>
      <simpleAuthenticationPlugin>
        <users>
${users}
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://${host}:${options.port}${query ? `?${query}` : ''}"/>
    </transportConnectors>
  </broker>
</beans>
`;
}

/** True once a STOMP CONNECT on the port is answered with CONNECTED or ERROR. */
function stompAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let text = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(5000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('CONNECT\naccept-version:1.2\nhost:/\n\n\0'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (/^(CONNECTED|ERROR)\n/m.test(text)) done(true);
    });
  });
}

export async function startActiveMq(options: ActiveMqOptions = {}): Promise<ActiveMqHandle> {
  const home = options.home ?? process.env['ACTIVEMQ_HOME'] ?? '/usr/share/activemq';
  const jar = join(home, 'bin', 'activemq.jar');
  if (!existsSync(jar)) {
    throw new Error(`${jar} is missing: run scripts/ensure-activemq.sh (Debian's activemq)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'crdr-activemq-'));
  const conf = join(dir, 'conf');
  const data = join(dir, 'data');
  await Promise.all([conf, data, join(dir, 'tmp')].map((d) => mkdir(d, { recursive: true })));
  const port = await freePort();
  const users = options.users ?? [{ name: 'admin', password: 'admin' }];
  const xml = join(conf, 'activemq.xml');
  await writeFile(
    xml,
    renderActiveMqXml({
      dataDir: data,
      port,
      users,
      ...(options.stompOptions ? { stompOptions: options.stompOptions } : {}),
    }),
  );
  const child = spawn(
    process.env['JAVA'] ?? 'java',
    [
      '-Xms64m',
      '-Xmx768m',
      `-Dactivemq.home=${home}`,
      `-Dactivemq.base=${dir}`,
      `-Dactivemq.conf=${conf}`,
      `-Dactivemq.data=${data}`,
      `-Djava.io.tmpdir=${join(dir, 'tmp')}`,
      '-jar',
      jar,
      'start',
      `xbean:file:${xml}`,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > 1_000_000) output = output.slice(-500_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const close = async (): Promise<void> => {
    if (!hasExited) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (hasExited)
          throw new Error(`ActiveMQ exited before it answered:\n${output.slice(-4000)}`);
        return stompAnswers(port);
      },
      `ActiveMQ's STOMP on ${host}:${port}`,
      options.readyTimeoutMs ?? 120_000,
      250,
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { host, stompPort: port, dir, logs: () => output, close };
}
