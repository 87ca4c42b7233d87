import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * Ports a broker instance or replicator keeps for its whole life. They are taken below the
 * kernel's ephemeral range (`net.ipv4.ip_local_port_range`, 32768–60999 by default): a port of
 * that range, free when chosen, can meanwhile become the local end of an outgoing connection
 * (a Postgres or NATS client's) and be taken when the process starts again.
 */
export async function stablePorts(
  count: number,
  host: string,
  taken: ReadonlySet<number>,
): Promise<number[]> {
  const low = 20_000;
  const high = Math.min(32_767, (await ephemeralRangeStart()) - 1);
  const chosen: number[] = [];
  for (let attempt = 0; chosen.length < count && attempt < 10_000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (chosen.includes(port) || taken.has(port)) continue;
    if (await canListen(host, port)) chosen.push(port);
  }
  if (chosen.length < count) throw new Error(`no ${count} free ports between ${low} and ${high}`);
  return chosen;
}

async function ephemeralRangeStart(): Promise<number> {
  try {
    const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const start = Number(range.trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 20_100 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** `127.0.0.1:20001` → 20001; undefined when there is no port. */
export function portOf(address: string | undefined): number | undefined {
  const match = /:(\d{1,5})$/.exec(address ?? '');
  return match === null ? undefined : Number(match[1]);
}
