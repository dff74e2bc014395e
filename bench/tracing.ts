import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { closedLoop, createClient } from './load.js';
import { cpuBetween, cpuSnapshot } from './machine.js';
import { signNotifications } from './notifications.js';
import type { BenchOptions } from './options.js';
import { openInspector } from './outbox.js';
import { startService } from './service.js';
import type { BenchEnvironment } from './setup.js';
import { median, round } from './stats.js';
import { NOISY_CORES } from './throughput.js';

/** `baseline`: another build (BENCH_BASELINE_ENTRY), untraced; `off` and `on`: this build. */
export type TracingMode = 'baseline' | 'off' | 'on';

export interface TracingRound {
  round: number;
  mode: TracingMode;
  perSecond: number;
  /** Service CPU per notification from the first request until its delivery was recorded (spans exported included). */
  serviceCpuMs: number;
  othersCores: number | null;
  noisy: boolean;
}

export interface TracingReport {
  rounds: TracingRound[];
  /** Medians of the quiet rounds of each mode (of all, when none was quiet). */
  off: { perSecond: number; serviceCpuMs: number };
  on: { perSecond: number; serviceCpuMs: number };
  baseline: { entry: string; perSecond: number; serviceCpuMs: number } | null;
  /** on ÷ off, service CPU per notification: the median of each round's ratio (robust to drift across rounds). */
  cpuRatio: number;
  /** off ÷ baseline likewise: what the tracing code costs while tracing is off. */
  offToBaseline: number | null;
  spansExported: { requests: number; bytes: number };
}

const PHASE_LIMIT_MS = 120_000;
/** After the outbox drained: time for the last spans to leave (the on service's batch delay is 200 ms). */
const SETTLE_MS = 1_000;

/** A collector stand-in: answers every OTLP/HTTP export at once, counting requests and bytes. */
async function startOtlpSink() {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exported: () => ({ requests, bytes }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What tracing costs: fresh services side by side, each on a database of its own and forwarding
 * to the same downstream, one with OTEL_EXPORTER_OTLP_ENDPOINT (http/protobuf, to a sink), one
 * without, and with BENCH_BASELINE_ENTRY a third running another build (say, the commit before
 * tracing); rounds of N new notifications go to each in turn, and each round's service CPU runs
 * from the first request until the last delivery was recorded.
 */
export async function runTracingCost(env: BenchEnvironment, options: BenchOptions, log: (line: string) => void): Promise<TracingReport> {
  const sink = await startOtlpSink();
  const baselineEntry = process.env.BENCH_BASELINE_ENTRY;
  const modes: TracingMode[] = baselineEntry === undefined ? ['off', 'on'] : ['baseline', 'off', 'on'];
  const services = [];
  try {
    for (const mode of modes) {
      const dataDir = path.join(env.dataDir, `tracing-${mode}`);
      await mkdir(dataDir, { recursive: true });
      const databaseUrl = await env.database.createDatabase(`tracing_${mode}`);
      const extra: Record<string, string> = mode === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_BSP_SCHEDULE_DELAY: '200' } : {};
      const entry = mode === 'baseline' ? baselineEntry : undefined;
      const service = await startService({
        databaseUrl,
        publicKeyPem: env.keys.publicKeyPem,
        forwardUrls: [env.downstream.url],
        logLevel: options.logLevel,
        dataDir,
        extra,
        ...(entry === undefined ? {} : { entry }),
      });
      services.push({ mode, service, inspector: await openInspector(databaseUrl), client: createClient(service.url, options.concurrency) });
    }
    // Warm-up of each: JIT, pools, prepared statements, the exporter's connection.
    for (const s of services) {
      await closedLoop(s.client, signNotifications(env.keys, options.warmup, `tw${s.mode}`), options.concurrency, PHASE_LIMIT_MS);
      await s.inspector.drained(PHASE_LIMIT_MS);
    }
    const rounds: TracingRound[] = [];
    const exportedBefore = sink.exported();
    for (let r = 1; r <= options.rounds; r++) {
      for (const s of services) {
        const notifications = signNotifications(env.keys, options.n, `t${r}${s.mode}`);
        const tracked = { servicePid: s.service.pid, postmasterPid: env.database.postmasterPid };
        await env.database.checkpoint();
        const before = cpuSnapshot(tracked);
        const sent = await closedLoop(s.client, notifications, options.concurrency, PHASE_LIMIT_MS);
        await s.inspector.drained(PHASE_LIMIT_MS);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const cpu = cpuBetween(before, cpuSnapshot(tracked));
        const measured: TracingRound = {
          round: r,
          mode: s.mode,
          perSecond: round(sent.sent / sent.seconds, 1),
          serviceCpuMs: round((cpu.service * cpu.seconds * 1000) / sent.sent, 3),
          othersCores: cpu.others,
          noisy: cpu.others === null || cpu.others > NOISY_CORES,
        };
        rounds.push(measured);
        log(
          `tracing ${s.mode.padEnd(8)} round ${r}: ${Math.round(measured.perSecond)}/s, service CPU ${measured.serviceCpuMs} ms per notification (ingest and delivery), others' CPU ${cpu.others ?? '?'} cores${measured.noisy ? ' (noisy)' : ''}`,
        );
      }
    }
    const after = sink.exported();
    const summary = (mode: TracingMode) => {
      const mine = rounds.filter((r) => r.mode === mode);
      const quiet = mine.filter((r) => !r.noisy);
      const pick = quiet.length > 0 ? quiet : mine;
      return { perSecond: round(median(pick.map((r) => r.perSecond)), 1), serviceCpuMs: round(median(pick.map((r) => r.serviceCpuMs)), 3) };
    };
    const off = summary('off');
    const on = summary('on');
    const report: TracingReport = {
      rounds,
      off,
      on,
      baseline: baselineEntry === undefined ? null : { entry: baselineEntry, ...summary('baseline') },
      cpuRatio: round(median(roundRatios(rounds, 'on', 'off')), 2),
      offToBaseline: baselineEntry === undefined ? null : round(median(roundRatios(rounds, 'off', 'baseline')), 2),
      spansExported: { requests: after.requests - exportedBefore.requests, bytes: after.bytes - exportedBefore.bytes },
    };
    log(
      `tracing: service CPU per notification ${off.serviceCpuMs} ms off, ${on.serviceCpuMs} ms on (medians; on/off per round, median ${report.cpuRatio}x); ` +
        `${off.perSecond}/s off, ${on.perSecond}/s on; ${report.spansExported.requests} exports, ${Math.round(report.spansExported.bytes / 1024)} KiB`,
    );
    if (report.baseline !== null) {
      log(
        `tracing: off vs the baseline build (${report.baseline.entry}): ${off.serviceCpuMs} vs ${report.baseline.serviceCpuMs} ms, per round median ${report.offToBaseline}x`,
      );
    }
    return report;
  } finally {
    for (const s of services) {
      await s.client.close();
      await s.inspector.close();
      await s.service.stop();
    }
    await sink.close();
  }
}

/** Each round's `a` ÷ `b` service CPU per notification (run one after the other in that round). */
function roundRatios(rounds: readonly TracingRound[], a: TracingMode, b: TracingMode): number[] {
  const ratios: number[] = [];
  for (const round_ of new Set(rounds.map((r) => r.round))) {
    const cpuOf = (mode: TracingMode) => rounds.find((r) => r.round === round_ && r.mode === mode)?.serviceCpuMs;
    const [x, y] = [cpuOf(a), cpuOf(b)];
    if (x !== undefined && y !== undefined) ratios.push(x / y);
  }
  return ratios;
}
