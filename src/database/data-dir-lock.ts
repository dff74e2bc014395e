import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Held by the one service that runs an embedded database on a DATA_DIR. */
export interface DataDirLock {
  readonly file: string;
  release(): Promise<void>;
}

/** Another live process holds the DATA_DIR. */
export class DataDirBusyError extends Error {}

const LOCK_FILE = 'receiver.pid';

/**
 * Takes DATA_DIR for this process: `receiver.pid` holds the owner's pid and, on Linux, its start
 * time. The file is made whole elsewhere and hard-linked into place, which fails if it exists, so
 * two starts cannot both take it. A file whose process is gone (killed, crashed: nothing removed
 * it) or whose pid now belongs to another process (the start time differs) is stale and is
 * replaced; the lock never outlives its process. Throws DataDirBusyError, having written nothing
 * in DATA_DIR, while the owner lives.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const directory = path.resolve(dataDir);
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, LOCK_FILE);
  const mine = `${process.pid}\n${startTimeOf(process.pid) ?? ''}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const holder = await readFile(file, 'utf8').catch(() => undefined);
    if (holder !== undefined) {
      const pid = Number(holder.split('\n')[0]);
      if (isOwnerAlive(holder))
        throw new DataDirBusyError(`DATA_DIR ${directory} is in use by another running service (pid ${pid}); stop it first or give this one another DATA_DIR`);
      await unlink(file).catch(() => {});
    }
    const staged = `${file}.${process.pid}.tmp`;
    await writeFile(staged, mine, { mode: 0o644 });
    try {
      await link(staged, file);
      return {
        file,
        async release() {
          // Only our own file: never one a later owner wrote.
          if ((await readFile(file, 'utf8').catch(() => undefined)) === mine) await unlink(file).catch(() => {});
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(staged).catch(() => {});
    }
  }
  throw new DataDirBusyError(`DATA_DIR ${directory} is being taken by another starting service`);
}

/** Whether the process a lock file names still runs (the same process, not a reused pid). */
function isOwnerAlive(contents: string): boolean {
  const [pidText, startTime] = contents.split('\n');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(pid);
  return startTime === undefined || startTime === '' || now === undefined || now === startTime;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined off Linux. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
