import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

/**
 * Ports the stack keeps across restarts. They are taken below the kernel's ephemeral range
 * (`net.ipv4.ip_local_port_range`, 32768–60999 by default): a port from that range, free when
 * chosen, can meanwhile become the local end of any outgoing connection (a Postgres or NATS
 * client's) and be taken when the service starts.
 */
export async function stablePorts(count: number): Promise<number[]> {
  const low = 20_000;
  const high = Math.min(32_767, (await ephemeralRangeStart()) - 1);
  const chosen: number[] = [];
  for (let attempt = 0; chosen.length < count && attempt < 10_000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (chosen.includes(port)) continue;
    if (await canListen(port)) chosen.push(port);
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

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
