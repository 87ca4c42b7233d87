/**
 * Postgres failures sorted by what retrying can do. A refused change (bad data, a broken
 * constraint, a missing table) fails the same way every time: the replicator stops on it. Lost
 * connections, restarts, lock and serialization conflicts and full disks pass: it backs off.
 */
const refusedClasses = new Set([
  '0A', // feature not supported
  '22', // data exception
  '23', // integrity constraint violation
  '42', // syntax error or access rule violation (a missing table, a wrong type)
  '44', // with check option violation
]);

export function isRefusedByStore(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (
    typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && refusedClasses.has(code.slice(0, 2))
  );
}
