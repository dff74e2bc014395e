import { availableParallelism } from 'node:os';
import { batchesBetween, readBatchCounts, type BatchSizes } from './batches.js';
import { cpuBetween, cpuSnapshot, loadAverage, rssBytes, type CpuShare, type Tracked } from './machine.js';
import { openCeilingPool, runCeiling } from './ceiling.js';
import { closedLoop, createClient, openLoop, type LoadResult } from './load.js';
import { minimalTransactionScript, pgbenchVersion, runPgbench } from './pgbench.js';
import { ingestParametersOf, signNotifications } from './notifications.js';
import type { BenchOptions } from './options.js';
import type { BenchEnvironment } from './setup.js';
import { round, summarise, type LatencySummary } from './stats.js';

export interface PhaseReport {
  count: number;
  ok: number;
  failures: Record<string, number>;
  seconds: number;
  perSecond: number;
  latencyMs: LatencySummary;
  /** Cores used during the phase by each party (2.0 = both cores of a 2-core machine). */
  cpu: CpuShare;
  /** CPU milliseconds per notification, by party. */
  cpuMsPerNotification: { service: number; postgres: number | null; bench: number };
  loadAverage: [number, number, number];
  /** HTTP phases: the service's group-commit batches during the phase. */
  batches?: BatchSizes;
  /** HTTP phases of new notifications: commit → downstream, once the outbox drained after the phase. */
  forwardingLagMs?: LatencySummary;
}

export interface RoundReport {
  round: number;
  /** Other processes used more than NOISY_CORES during a phase of this round. */
  noisy: boolean;
  newNotifications: PhaseReport;
  duplicates: PhaseReport;
  ceiling: PhaseReport;
  ceilingDuplicates: PhaseReport;
  /** pgbench running the minimal durable transaction of a new notification; null without pgbench. */
  pgbench: PhaseReport | null;
  /** New notifications at a steady rate (open loop: latency counts from when each was due). */
  steady: PhaseReport;
  /** Deliveries still pending when each HTTP phase ended, and how long the outbox took to drain after. */
  outbox: { pendingAfterNew: number; pendingAfterDuplicates: number; drainSeconds: number | null };
  ratios: {
    newToCeiling: number;
    duplicatesToCeiling: number;
    duplicatesToCeilingDuplicates: number;
    newToPgbench: number | null;
    duplicatesToPgbench: number | null;
  };
}

const PHASE_LIMIT_MS = 120_000;
/** A round during which other processes used more than this many cores is noisy. */
export const NOISY_CORES = 0.25;
/** Noisy rounds are repeated, within this budget and this many rounds in all. */
const ROUNDS_BUDGET_MS = 5 * 60_000;
const MAX_ROUNDS = 10;

/**
 * Rounds of: N new notifications over HTTP, the same N again (duplicates), then the same N through
 * ingest_notification() straight from a pg pool (new, then duplicates) on a database of its own,
 * then N minimal durable transactions through pgbench on that database (when pgbench is
 * installed), then new notifications at a steady rate over HTTP.
 * A round disturbed by other processes (others' CPU above NOISY_CORES in any phase) is repeated,
 * within a time budget; the summary uses the quiet rounds when there are any.
 */
export async function runThroughput(env: BenchEnvironment, options: BenchOptions, log: (line: string) => void) {
  const { n, concurrency: c } = options;
  const forwardUrls = options.forward ? [env.downstream.url] : [];
  const tracked: Tracked = { servicePid: env.service.pid, postmasterPid: env.database.postmasterPid };
  const client = createClient(env.service.url, c);

  // Warm-up: JIT, pools and prepared statements on both sides, new and duplicate paths.
  const warmup = signNotifications(env.keys, Math.max(options.warmup, c), 'warm');
  await closedLoop(client, warmup, c, PHASE_LIMIT_MS);
  await closedLoop(client, warmup, c, PHASE_LIMIT_MS);
  const ceilingUrl = await env.database.createDatabase('ceiling', { migrate: true });
  const warmupParameters = warmup.map((notification) => ingestParametersOf(notification, forwardUrls));
  const ceilingPool = await openCeilingPool(ceilingUrl, c, warmupParameters);
  await runCeiling(ceilingPool, warmupParameters, c, PHASE_LIMIT_MS);
  await runCeiling(ceilingPool, warmupParameters, c, PHASE_LIMIT_MS);
  const pgbench = pgbenchVersion();
  const pgbenchScript = minimalTransactionScript(warmup[0] as (typeof warmup)[number]);
  const threads = Math.max(1, availableParallelism());
  if (pgbench === undefined) log('pgbench: not installed (apt-get install -y postgresql-client): its ceiling is reported as unavailable');
  else await runPgbench(ceilingUrl, pgbenchScript, Math.min(options.warmup, n), c, threads, PHASE_LIMIT_MS);
  await env.inspector.drained(60_000);
  log(`warmed up with ${warmup.length} notifications (each sent twice) on both paths`);

  const reports: RoundReport[] = [];
  const started = performance.now();
  const quietCount = () => reports.filter((report) => !report.noisy).length;
  while (quietCount() < options.rounds && reports.length < MAX_ROUNDS) {
    if (reports.length >= options.rounds && performance.now() - started > ROUNDS_BUDGET_MS) break;
    const r = reports.length + 1;
    const notifications = signNotifications(env.keys, n, `r${r}`);
    const parameters = notifications.map((notification) => ingestParametersOf(notification, forwardUrls));

    const measure = async (run: () => Promise<LoadResult>): Promise<PhaseReport> => {
      await env.database.checkpoint();
      const before = cpuSnapshot(tracked);
      const result = await run();
      const after = cpuSnapshot(tracked);
      return phaseReport(result, cpuBetween(before, after));
    };
    const measureHttp = async (run: () => Promise<LoadResult>): Promise<PhaseReport> => {
      const before = await readBatchCounts(env.service.url);
      const report = await measure(run);
      return { ...report, batches: batchesBetween(before, await readBatchCounts(env.service.url)) };
    };
    const newNotifications = await measureHttp(() => closedLoop(client, notifications, c, PHASE_LIMIT_MS));
    const pendingAfterNew = await env.inspector.pending();
    const duplicates = await measureHttp(() => closedLoop(client, notifications, c, PHASE_LIMIT_MS));
    const pendingAfterDuplicates = await env.inspector.pending();
    const drainSeconds = await env.inspector.drained(120_000);
    if (options.forward) newNotifications.forwardingLagMs = summarise(Float64Array.from(env.downstream.lagsMs(`r${r}-`)));

    const ceiling = await measure(() => runCeiling(ceilingPool, parameters, c, PHASE_LIMIT_MS).then(asLoadResult('created')));
    const ceilingDuplicates = await measure(() => runCeiling(ceilingPool, parameters, c, PHASE_LIMIT_MS).then(asLoadResult('duplicate')));
    const pgbenchPhase = pgbench === undefined ? null : await measure(() => runPgbench(ceilingUrl, pgbenchScript, n, c, threads, PHASE_LIMIT_MS));

    const steadyNotifications = signNotifications(env.keys, options.steadyRate * options.steadySeconds, `st${r}`);
    const steady = await measureHttp(() => openLoop(client, steadyNotifications, options.steadyRate, 1_000));
    await env.inspector.drained(60_000);
    if (options.forward) steady.forwardingLagMs = summarise(Float64Array.from(env.downstream.lagsMs(`st${r}-`)));

    const phases = [newNotifications, duplicates, ceiling, ceilingDuplicates, steady, ...(pgbenchPhase === null ? [] : [pgbenchPhase])];
    const report: RoundReport = {
      round: r,
      noisy: phases.some((phase) => phase.cpu.others === null || phase.cpu.others > NOISY_CORES),
      newNotifications,
      duplicates,
      ceiling,
      ceilingDuplicates,
      pgbench: pgbenchPhase,
      steady,
      outbox: { pendingAfterNew, pendingAfterDuplicates, drainSeconds: drainSeconds === undefined ? null : round(drainSeconds) },
      ratios: {
        newToCeiling: round(newNotifications.perSecond / ceiling.perSecond, 3),
        duplicatesToCeiling: round(duplicates.perSecond / ceiling.perSecond, 3),
        duplicatesToCeilingDuplicates: round(duplicates.perSecond / ceilingDuplicates.perSecond, 3),
        newToPgbench: pgbenchPhase === null ? null : round(newNotifications.perSecond / pgbenchPhase.perSecond, 3),
        duplicatesToPgbench: pgbenchPhase === null ? null : round(duplicates.perSecond / pgbenchPhase.perSecond, 3),
      },
    };
    reports.push(report);
    log(roundLine(report));
  }
  await ceilingPool.end();
  await client.close();

  const stored = await env.inspector.counts();
  // warm-up and round notifications were each sent twice, the steady ones once
  const sentTwice = warmup.length + reports.length * n;
  const expected = sentTwice + reports.length * options.steadyRate * options.steadySeconds;
  const expectedDeliveries = options.forward ? expected : 0;
  const check = {
    expectedNotifications: expected,
    ...stored,
    downstreamReceived: env.downstream.received(),
    ok:
      stored.notifications === expected &&
      stored.deliveryCountSum === expected + sentTwice &&
      stored.orders === expected &&
      stored.events === expected &&
      stored.pendingDeliveries === 0 &&
      stored.deliveredDeliveries === expectedDeliveries,
  };
  return { rounds: reports, check, serviceRssBytes: rssBytes(env.service.pid) ?? null };
}

function asLoadResult(expectedOutcome: string) {
  return (result: Awaited<ReturnType<typeof runCeiling>>): LoadResult => {
    const failures: Record<string, number> = {};
    for (const [outcome, count] of Object.entries(result.outcomes)) if (outcome !== expectedOutcome) failures[outcome] = count;
    const ok = result.outcomes[expectedOutcome] ?? 0;
    return { sent: result.sent, ok, failures, seconds: result.seconds, latencies: result.latencies };
  };
}

function phaseReport(result: LoadResult, cpu: CpuShare): PhaseReport {
  const perNotification = (cores: number | null) => (cores === null ? null : round((cores * cpu.seconds * 1000) / result.sent, 3));
  return {
    count: result.sent,
    ok: result.ok,
    failures: result.failures,
    seconds: round(result.seconds, 3),
    perSecond: round(result.sent / result.seconds, 1),
    latencyMs: summarise(result.latencies),
    cpu,
    cpuMsPerNotification: {
      service: perNotification(cpu.service) as number,
      postgres: perNotification(cpu.postgres),
      bench: perNotification(cpu.bench) as number,
    },
    loadAverage: loadAverage(),
  };
}

function roundLine(r: RoundReport): string {
  const f = (p: PhaseReport) =>
    `${Math.round(p.perSecond)}/s p50 ${p.latencyMs.p50} p99 ${p.latencyMs.p99} cpu ${p.cpuMsPerNotification.service}/${p.cpuMsPerNotification.postgres ?? '?'} ms` +
    `${p.batches?.meanSize == null ? '' : ` batch ${p.batches.meanSize}`}` +
    `${p.ok === p.count ? '' : ` FAILED ${JSON.stringify(p.failures)}`}`;
  const phases = [r.newNotifications, r.duplicates, r.ceiling, r.ceilingDuplicates, ...(r.pgbench === null ? [] : [r.pgbench]), r.steady];
  return [
    `round ${r.round}: new ${f(r.newNotifications)} | duplicates ${f(r.duplicates)}`,
    `         ceiling ${f(r.ceiling)} | ceiling duplicates ${f(r.ceilingDuplicates)} | pgbench ${r.pgbench === null ? 'unavailable' : f(r.pgbench)}`,
    `         steady ${f(r.steady)} | forwarding lag p99: new ${r.newNotifications.forwardingLagMs?.p99 ?? '?'} ms, steady ${r.steady.forwardingLagMs?.p99 ?? '?'} ms`,
    `         new/ceiling ${r.ratios.newToCeiling}  new/pgbench ${r.ratios.newToPgbench ?? '?'}  duplicates/pgbench ${r.ratios.duplicatesToPgbench ?? '?'}  ` +
      `others' CPU ${phases.map((p) => p.cpu.others).join('/')} cores${r.noisy ? ' (noisy)' : ''}`,
  ].join('\n');
}
