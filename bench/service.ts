import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { freePort } from '../src/net/free-port.js';
import path from 'node:path';

export interface ServiceProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Its OPS_API_TOKEN, for the ops calls the bench makes between phases. */
  opsToken: string;
  /** The last lines the service logged. */
  tail(lines?: number): string;
  /** SIGTERM, then SIGKILL if it does not exit within `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface ServiceEnv {
  databaseUrl: string;
  publicKeyPem: string;
  forwardUrls: string[];
  logLevel: string;
  dataDir: string;
  /** Further variables (the tracing phase's OTEL_*). */
  extra?: Record<string, string>;
  /** Another build's dist/server.js (the tracing phase's baseline); this checkout's when absent. */
  entry?: string;
}

const SERVER_ENTRY = path.resolve('dist/server.js');

/** The built service (`npm run build`) as a child process, on loopback, resolved once /healthz answers. */
export async function startService(env: ServiceEnv): Promise<ServiceProcess> {
  const port = await freePort();
  const logFile = path.join(env.dataDir, 'service.log');
  const out = openSync(logFile, 'a');
  const opsToken = randomBytes(24).toString('hex');
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) childEnv[name] = value;
  Object.assign(childEnv, {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: env.databaseUrl,
    DATA_DIR: env.dataDir,
    STARPAY_PUBLIC_KEYS: env.publicKeyPem,
    OPS_API_TOKEN: opsToken,
    FORWARD_URLS: env.forwardUrls.join(','),
    FORWARD_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    LOG_LEVEL: env.logLevel,
    // The recovery phase measures the drain after the downstream answers again, not the wait for a probe.
    BREAKER_PROBE_MS: '1000',
    // The bench's calls come from loopback (exempt) anyway; no limit may skew a phase.
    OPS_RATE_LIMIT: '0',
    ...env.extra,
  });
  delete childEnv.STARPAY_PUBLIC_KEYS_FILE;
  delete childEnv.STARPAY_MCH_ID;
  // The log goes straight to a file: a pipe nobody drains would stall the service.
  // BENCH_SERVICE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the service.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg !== '');
  const child = spawn(process.execPath, [...nodeArgs, env.entry ?? SERVER_ENTRY], { env: childEnv, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const tail = (lines = 20) => readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}:\n${tail()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service did not start within 60 s:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid as number,
    child,
    logFile,
    opsToken,
    tail,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
