/**
 * `npm run bench`: the receiver under a retry storm, against the machine's own ceiling.
 * `npm run bench -- --soak` (or `npm run bench:soak`): a steady load, watching the service's memory.
 * Runs the built service (dist/server.js), so `npm run build` first (the npm scripts do).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadAverage, machineInfo, sourceRevision } from './machine.js';
import { runForwarding } from './forwarding.js';
import { parseOptions } from './options.js';
import { mib, runSoak } from './soak.js';
import { cleanUp, guard, startEnvironment } from './setup.js';
import { median, round } from './stats.js';
import { NOISY_CORES, runThroughput, type PhaseReport, type RoundReport } from './throughput.js';
import { runTracingCost } from './tracing.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env);
  // The bench always ends by itself: the phases are bounded, and so is the whole run.
  guard(options.soak ? (options.soakSeconds + 300) * 1000 : 15 * 60_000);

  const machine = machineInfo();
  const loadBefore = loadAverage();
  log(`machine: ${machine.cores} cores (${machine.cpu}), node ${machine.node}, load average ${loadBefore.join(' ')}`);
  const env = await startEnvironment(options, log);
  const postgres = await env.database.settings();
  const startedAt = new Date();

  let result: Record<string, unknown>;
  if (options.tracingOnly) {
    log(`tracing only: ${options.rounds} round(s) each way of N=${options.n} new notifications, concurrency ${options.concurrency}`);
    result = { kind: 'tracing', tracing: await runTracingCost(env, options, log) };
  } else if (options.forwardingOnly) {
    log(`forwarding only: backlogs of ${options.backlog} events, concurrency ${options.concurrency}`);
    result = { kind: 'forwarding', forwarding: await runForwarding(env, options, log) };
  } else if (options.soak) {
    log(`soak: ${options.soakRate} notifications/s for ${options.soakSeconds} s (half new, half duplicates)`);
    const soak = await runSoak(env, options, log);
    log(
      `soak: ${soak.ok}/${soak.sent} answered SUCCESS at ${soak.achievedPerSecond}/s, p50 ${soak.latencyMs.p50} ms, p99 ${soak.latencyMs.p99} ms; ` +
        `service RSS ${mib(soak.rss.startBytes)} MiB → ${mib(soak.rss.endBytes)} MiB (${percent(soak.rss.growth)}; second half ${percent(soak.rss.secondHalfGrowth)}), max ${mib(soak.rss.maxBytes)} MiB`,
    );
    result = { kind: 'soak', soak };
  } else {
    log(`throughput: N=${options.n} notifications, concurrency ${options.concurrency}, ${options.rounds} quiet round(s) wanted`);
    const throughput = await runThroughput(env, options, log);
    const summary = summarise(throughput.rounds);
    printTable(summary, options.concurrency, options.steadyRate);
    if (!throughput.check.ok) log(`CHECK FAILED: stored rows do not match what was sent: ${JSON.stringify(throughput.check)}`);
    const forwarding = options.forward ? await runForwarding(env, options, log) : null;
    const tracing = options.forward ? await runTracingCost(env, options, log) : null;
    result = { kind: 'throughput', summary, ...throughput, forwarding, tracing };
  }

  const stopCode = await env.service.stop();
  const loadAfter = loadAverage();
  const file = path.join(
    options.outDir,
    `${startedAt.toISOString().replace(/[:.]/g, '-')}-${options.soak ? 'soak' : `n${options.n}-c${options.concurrency}`}.json`,
  );
  await mkdir(options.outDir, { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        source: sourceRevision(),
        options,
        machine,
        loadAverage: { before: loadBefore, after: loadAfter },
        postgres: { source: env.database.source, ...postgres },
        serviceExitCode: stopCode,
        ...result,
      },
      null,
      2,
    )}\n`,
  );
  log(`load average ${loadAfter.join(' ')}; results written to ${file}`);
}

/** Medians over the quiet rounds, or over all if none was quiet (each ratio from its own round). */
function summarise(all: RoundReport[]) {
  const quiet = all.filter((r) => !r.noisy);
  const rounds = quiet.length > 0 ? quiet : all;
  const phase = (pick: (r: RoundReport) => PhaseReport) => ({
    perSecond: round(median(rounds.map((r) => pick(r).perSecond)), 1),
    p50Ms: round(median(rounds.map((r) => pick(r).latencyMs.p50))),
    p99Ms: round(median(rounds.map((r) => pick(r).latencyMs.p99))),
    cpuMsPerNotification: {
      service: round(median(rounds.map((r) => pick(r).cpuMsPerNotification.service)), 3),
      postgres: rounds.some((r) => pick(r).cpuMsPerNotification.postgres === null)
        ? null
        : round(median(rounds.map((r) => pick(r).cpuMsPerNotification.postgres as number)), 3),
      bench: round(median(rounds.map((r) => pick(r).cpuMsPerNotification.bench)), 3),
    },
    othersCores: rounds.some((r) => pick(r).cpu.others === null) ? null : round(median(rounds.map((r) => pick(r).cpu.others as number))),
    failed: rounds.reduce((sum, r) => sum + (pick(r).count - pick(r).ok), 0),
    meanBatchSize: medianOf(
      rounds.map((r) => pick(r).batches?.meanSize ?? null),
      1,
    ),
    forwardingLagMs: {
      p50: medianOf(rounds.map((r) => pick(r).forwardingLagMs?.p50 ?? null)),
      p99: medianOf(rounds.map((r) => pick(r).forwardingLagMs?.p99 ?? null)),
    },
  });
  const withPgbench = rounds.filter((r) => r.pgbench !== null);
  return {
    rounds: rounds.length,
    noisyRoundsLeftOut: quiet.length > 0 ? all.length - quiet.length : 0,
    allRoundsNoisy: quiet.length === 0,
    newNotifications: phase((r) => r.newNotifications),
    duplicates: phase((r) => r.duplicates),
    ceiling: phase((r) => r.ceiling),
    ceilingDuplicates: phase((r) => r.ceilingDuplicates),
    pgbench: withPgbench.length === rounds.length ? phase((r) => r.pgbench as PhaseReport) : null,
    steady: phase((r) => r.steady),
    ratios: {
      newToCeiling: round(median(rounds.map((r) => r.ratios.newToCeiling)), 3),
      duplicatesToCeiling: round(median(rounds.map((r) => r.ratios.duplicatesToCeiling)), 3),
      duplicatesToCeilingDuplicates: round(median(rounds.map((r) => r.ratios.duplicatesToCeilingDuplicates)), 3),
      newToPgbench: medianOf(
        rounds.map((r) => r.ratios.newToPgbench),
        3,
      ),
      duplicatesToPgbench: medianOf(
        rounds.map((r) => r.ratios.duplicatesToPgbench),
        3,
      ),
    },
  };
}

/** The median, or null when any round lacks the value. */
function medianOf(values: readonly (number | null)[], digits = 2): number | null {
  return values.length === 0 || values.some((v) => v === null) ? null : round(median(values as number[]), digits);
}

function printTable(s: ReturnType<typeof summarise>, concurrency: number, steadyRate: number): void {
  const row = (name: string, p: ReturnType<typeof summarise>['newNotifications'] | null, ratio: string) =>
    p === null
      ? `| ${name.padEnd(34)} | unavailable (pgbench not installed) |`
      : `| ${name.padEnd(34)} | ${String(Math.round(p.perSecond)).padStart(7)} | ${p.p50Ms.toFixed(2).padStart(7)} | ${p.p99Ms.toFixed(2).padStart(7)} | ${ratio.padStart(9)} | ${fmt(p.cpuMsPerNotification.service)} | ${fmt(p.cpuMsPerNotification.postgres)} | ${(p.meanBatchSize === null ? '' : String(p.meanBatchSize)).padStart(5)} | ${(p.forwardingLagMs.p99 === null ? '' : String(p.forwardingLagMs.p99)).padStart(7)} |`;
  const r = s.ratios;
  const pair = (a: number, b: number | null) => `${a.toFixed(2)}/${b === null ? '—' : b.toFixed(2)}`;
  log('');
  const noise = s.allRoundsNoisy
    ? ` — EVERY round was noisy (other processes above ${NOISY_CORES} cores): numbers are pessimistic`
    : s.noisyRoundsLeftOut > 0
      ? ` (${s.noisyRoundsLeftOut} noisy round(s) left out)`
      : '';
  log(`medians of ${s.rounds} round(s), concurrency ${concurrency}${noise}:`);
  log(
    `| ${'phase'.padEnd(34)} | ${'per s'.padStart(7)} | ${'p50 ms'.padStart(7)} | ${'p99 ms'.padStart(7)} | ${'ratio'.padStart(9)} | svc ms | pg ms  | batch | lag p99 |`,
  );
  log(`|${'-'.repeat(36)}|${'-'.repeat(9)}|${'-'.repeat(9)}|${'-'.repeat(9)}|${'-'.repeat(11)}|--------|--------|-------|---------|`);
  log(row('HTTP, new notifications', s.newNotifications, pair(r.newToCeiling, r.newToPgbench)));
  log(row('HTTP, duplicates', s.duplicates, pair(r.duplicatesToCeiling, r.duplicatesToPgbench)));
  log(row('ceiling: pg loop, new', s.ceiling, '1.00/—'));
  log(row('ceiling: pg loop, duplicates', s.ceilingDuplicates, '—'));
  log(row('ceiling: pgbench minimal tx', s.pgbench, '—/1.00'));
  log(row(`HTTP, new at a steady ${steadyRate}/s`, s.steady, '—'));
  log('(ratio: HTTP throughput / pg-loop ceiling / pgbench ceiling, each of the same round; svc/pg ms: CPU per notification;');
  log(' batch: mean notifications per group-commit batch; lag: commit → downstream webhook, ms)');
}

function percent(value: number | null): string {
  return value === null ? '?' : `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)}%`;
}

function fmt(value: number | null): string {
  return (value === null ? '?' : value.toFixed(3)).padStart(6);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    // Nothing may keep the bench alive once it is done.
    setTimeout(() => process.exit(), 1_000).unref();
  });
