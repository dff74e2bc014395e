import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** Linux clock ticks per second (/proc times are in ticks). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export function machineInfo() {
  const list = cpus();
  return { cores: list.length, cpu: list[0]?.model ?? 'unknown', node: process.version, platform: `${process.platform}-${process.arch}` };
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [round2(a ?? 0), round2(b ?? 0), round2(c ?? 0)];
}

/** CPU seconds used so far by: the whole machine, the service, our PostgreSQL, and this bench process. */
export interface CpuSnapshot {
  at: number;
  machineBusy: number;
  service: number;
  postgres: number | undefined;
  bench: number;
}

/** Processes whose CPU is attributed: the service pid and the postmaster pid (with its backends). */
export interface Tracked {
  servicePid?: number;
  postmasterPid?: number;
}

export function cpuSnapshot(tracked: Tracked): CpuSnapshot {
  return {
    at: performance.now(),
    machineBusy: machineBusySeconds(),
    service: tracked.servicePid === undefined ? 0 : processSeconds(tracked.servicePid, false),
    postgres: tracked.postmasterPid === undefined ? undefined : postgresSeconds(tracked.postmasterPid),
    // with its reaped children: pgbench runs as the bench's child
    bench: processSeconds(process.pid, true),
  };
}

/** CPU used between two snapshots, in cores (1.0 = one core busy for the whole interval). */
export interface CpuShare {
  seconds: number;
  machine: number;
  service: number;
  postgres: number | null;
  bench: number;
  /** Everything else on the machine: other people's work, i.e. the noise. */
  others: number | null;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuShare {
  const seconds = (b.at - a.at) / 1000;
  const share = (x: number) => round2(x / seconds);
  const machine = b.machineBusy - a.machineBusy;
  const service = b.service - a.service;
  const postgres = a.postgres === undefined || b.postgres === undefined ? undefined : b.postgres - a.postgres;
  const bench = b.bench - a.bench;
  return {
    seconds: round2(seconds),
    machine: share(machine),
    service: share(service),
    postgres: postgres === undefined ? null : share(postgres),
    bench: share(bench),
    others: postgres === undefined ? null : share(Math.max(0, machine - service - postgres - bench)),
  };
}

function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal ...
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  return (total - idle) / CLK_TCK;
}

/** utime + stime (and, with children, the reaped children's times) of a process, in seconds. */
function processSeconds(pid: number, withChildren: boolean): number {
  const fields = statFields(pid);
  if (fields === undefined) return 0;
  // fields after "(comm)": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
  const own = Number(fields[11]) + Number(fields[12]);
  return (withChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / CLK_TCK;
}

/** The postmaster with the backends it reaped, plus its live children. */
function postgresSeconds(postmasterPid: number): number {
  let total = processSeconds(postmasterPid, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined && Number(fields[1]) === postmasterPid) total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  }
  return total;
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The commit the bench ran on, and whether tracked files differed from it. */
export function sourceRevision(): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim() !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}
