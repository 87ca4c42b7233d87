import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What the local provisioner knows about one process it started, persisted under
 * `<stateDir>/processes/<kind>.<id>.json` so that a restarted control plane (even after
 * `kill -9`) finds and re-adopts it instead of starting a second one.
 */
export interface ProcessRecord {
  readonly kind: ProcessKind;
  /** The broker instance id (`<brokerId>-<n>`) or, for a replicator, the replica broker id. */
  readonly id: string;
  /** The broker the process belongs to (the replica broker for a replicator). */
  readonly brokerId: string;
  /** The primary a replicator reads from. */
  readonly primaryBrokerId?: string;
  readonly pid: number;
  /**
   * A random value put in the process's environment as `CRDR_PROCESS_TOKEN`: a pid is only
   * this process when `/proc/<pid>/environ` still carries it (pids are reused).
   */
  readonly token: string;
  /** argv as started, the node binary first. */
  readonly command: readonly string[];
  readonly cwd: string;
  readonly logFile: string;
  /** The log file's size when the process started: its own output begins there. */
  readonly logOffset: number;
  readonly startedAt: string;
  /** /proc/<pid>/stat's starttime: identifies the process while it exits, after its token. */
  readonly startTime?: string;
  /** The `ENDPOINTS {json}` line's object once printed; absent while the process starts. */
  readonly endpoints?: Readonly<Record<string, string>>;
}

export type ProcessKind = 'broker' | 'replicator';

/** Loads, saves and removes process records in one folder. Writes are atomic (rename). */
export interface ProcessRecordStore {
  read(kind: ProcessKind, id: string): Promise<ProcessRecord | undefined>;
  write(record: ProcessRecord): Promise<void>;
  remove(kind: ProcessKind, id: string): Promise<void>;
  list(): Promise<readonly ProcessRecord[]>;
}

export function createProcessRecordStore(dir: string): ProcessRecordStore {
  const file = (kind: ProcessKind, id: string): string => join(dir, `${kind}.${id}.json`);

  async function load(path: string): Promise<ProcessRecord | undefined> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as ProcessRecord;
    } catch (error) {
      throw new Error(`process record ${path} is not valid JSON`, { cause: error });
    }
  }

  return {
    read: (kind, id) => load(file(kind, id)),
    async write(record) {
      await mkdir(dir, { recursive: true });
      const target = file(record.kind, record.id);
      const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, target);
    },
    async remove(kind, id) {
      await rm(file(kind, id), { force: true });
    },
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const records = await Promise.all(
        names.filter((name) => name.endsWith('.json')).map((name) => load(join(dir, name))),
      );
      return records.filter((record): record is ProcessRecord => record !== undefined);
    },
  };
}
