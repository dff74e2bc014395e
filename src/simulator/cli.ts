import { createPrivateKey, randomInt, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseSimulatorArgs, UsageError, USAGE, type SimulatorOptions } from './options.js';
import { awaitRecovery, formatRecovery, type Recovery } from './recover.js';
import { registerTruth, registerWithService, RegistrationError } from './register.js';
import { formatSummary, runSimulation, type Delivery, type RunResult, type Summary } from './run.js';
import { resendDelays, scheduleSpanMs } from './schedule.js';
import { planSimulation, type SimulatedOrder } from './simulation.js';

/** `npm run simulate -- [options]`: the entry, the only simulator file that touches process. */
async function main(): Promise<number> {
  let options: SimulatorOptions;
  try {
    options = parseSimulatorArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const empty = emptySummaries(options);
  const fail = (message: string) => {
    process.stderr.write(`${message}\n`);
    process.stdout.write(`${empty}\n`);
    return 1;
  };
  let privateKey: KeyObject | undefined;
  if (options.kinds.length > 0) {
    privateKey = await loadKey(options.keyFile);
    if (privateKey === undefined) {
      return fail(`no private key at ${options.keyFile}: start the service once (npm start) so that it generates its development key pair, or pass --key FILE`);
    }
  }
  if (!(await receiverAnswers(options.url))) return fail(`nothing answers at ${options.url}: start the receiver (npm start) or pass --url`);

  const seed = options.seed ?? randomInt(2 ** 31);
  const orders = planSimulation({ ...options, seed });
  const delays = resendDelays(options.timeScale);
  if (!options.quiet) process.stdout.write(`${describePlan(orders, options, seed, scheduleSpanMs(delays))}\n`);

  // The truth first, so that whatever the service asks, from the first notification on, gets it.
  try {
    const truthNeeded = orders.filter((o) => options.lose > 0 || (o.provider === 'starpago' && o.generation === 'v3'));
    const told = await registerTruth(truthNeeded, { ...options, timeoutMs: options.timeoutMs });
    if (!options.quiet && told > 0) process.stdout.write(`told the sandbox the outcome of ${told} orders\n`);
    if (options.lose > 0) {
      const registered = await registerWithService(orders, { url: options.url, opsToken: options.opsToken as string, timeoutMs: options.timeoutMs });
      if (!options.quiet) process.stdout.write(`registered ${registered} orders with the service (PUT /ops/orders)\n`);
    }
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    return fail(error.message);
  }

  const result = await runSimulation(orders, {
    url: options.url,
    privateKey,
    appSecret: options.appSecret,
    delays,
    concurrency: options.concurrency,
    timeoutMs: options.timeoutMs,
    onDelivery: (delivery) => {
      if (!options.quiet || !delivery.asExpected) process.stdout.write(`${describeDelivery(delivery)}\n`);
    },
  });
  const unexpected = result.deliveries.filter((d) => !d.asExpected).length;
  if (unexpected > 0) {
    process.stderr.write(
      `${unexpected} notification(s) did not end as expected (marked ✗): genuine ones need SUCCESS, forged ones a 401 (StarPago v3 hints: SUCCESS)\n`,
    );
  }

  let recovered = true;
  let recoveryLine: string | undefined;
  if (options.lose > 0) {
    const lost = orders.filter((o) => o.lost);
    if (!options.quiet && lost.length > 0) {
      process.stdout.write(
        `waiting up to ${Math.round(options.recoverTimeoutMs / 1000)} s for the service to find the outcome of ${lost.length} lost orders by query (its RECONCILE_SCHEDULE sets the pace)\n`,
      );
    }
    const recovery = await awaitRecovery(lost, {
      url: options.url,
      opsToken: options.opsToken as string,
      timeoutMs: options.recoverTimeoutMs,
      onSettled: (r) => {
        if (!options.quiet || !r.recovered) process.stdout.write(`${describeRecovery(r)}\n`);
      },
    });
    for (const r of recovery.recoveries.filter((r) => r.afterMs === null)) process.stdout.write(`${describeRecovery(r)}\n`);
    recovered = recovery.recovered === recovery.lost;
    if (!recovered) {
      process.stderr.write(`${recovery.lost - recovery.recovered} lost order(s) were not recovered by query (marked ✗)\n`);
    }
    recoveryLine = formatRecovery(recovery);
  }

  process.stdout.write(`${formatSummaries(result)}\n`);
  if (recoveryLine !== undefined) process.stdout.write(`${recoveryLine}\n`);
  return result.ok && recovered ? 0 : 1;
}

/** One line for a single provider, as always; one line per provider, named, when both run. */
function formatSummaries(result: Pick<RunResult, 'summary' | 'byProvider'>): string {
  const entries: Array<[string, Summary]> = Object.entries(result.byProvider);
  if (entries.length <= 1) return formatSummary(result.summary);
  return entries.map(([provider, summary]) => `${provider}: ${formatSummary(summary)}`).join('\n');
}

function emptySummaries(options: SimulatorOptions): string {
  const zero = { sent: 0, success: 0, refused: 0, retried: 0 };
  const byProvider = {
    ...(options.kinds.length > 0 ? { starpay: zero } : {}),
    ...(options.starpagoKinds.length > 0 ? { starpago: zero } : {}),
  };
  return formatSummaries({ summary: zero, byProvider });
}

async function loadKey(file: string): Promise<KeyObject | undefined> {
  const pem = await readFile(file, 'utf8').catch(() => undefined);
  return pem === undefined ? undefined : createPrivateKey(pem);
}

/** Fails fast instead of resending into a closed port for the whole schedule. */
async function receiverAnswers(url: string): Promise<boolean> {
  try {
    await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

function describePlan(orders: readonly SimulatedOrder[], options: SimulatorOptions, seed: number, spanMs: number): string {
  const notifications = orders.flatMap((o) => o.notifications as Array<{ role: string; copies: number }>);
  const count = (role: string) => notifications.filter((n) => n.role === role).length;
  const copies = notifications.reduce((sum, n) => sum + n.copies - 1, 0);
  return (
    `simulating ${orders.length} orders → ${options.url}: ${notifications.length} notifications ` +
    `(${count('late')} late, ${count('forged')} forged) + ${copies} parallel copies, ` +
    `resend schedule ${(spanMs / 1000).toFixed(1)} s (time scale ${options.timeScale}), seed ${seed}` +
    (options.starpagoKinds.length > 0 ? `, StarPago ${options.starpagoVersion}` : '') +
    (options.lose > 0 ? `, ${orders.filter((o) => o.lost).length} final notifications lost` : '')
  );
}

function describeDelivery(d: Delivery): string {
  const { fields, role, copies } = d.notification;
  const raw = fields.trxState ?? fields.status ?? (fields.orderStatus === undefined ? undefined : `orderStatus ${fields.orderStatus}`);
  const state = [raw, fields.errorCode].filter((v) => v !== undefined).join(' ');
  const tags = [role === 'final' ? '' : role, copies > 1 ? 'copy' : ''].filter((t) => t !== '').join(',');
  const attempts = d.attempts > 1 ? ` after ${d.attempts} attempts` : '';
  const outcome = d.outcome === 'refused' ? `${d.lastReply} refused` : d.lastReply;
  // A forged v3 hint may name an order the simulation never created.
  const orderRef = String(fields.merOrderNo ?? d.order.orderRef);
  return `${d.asExpected ? '✓' : '✗'} ${d.order.kind.padEnd(12)} ${orderRef.padEnd(20)} ${state.padEnd(15)} ${tags.padEnd(13)} → ${outcome}${attempts}`;
}

function describeRecovery(r: Recovery): string {
  const when = r.afterMs === null ? 'not final in time' : `after ${(r.afterMs / 1000).toFixed(1)} s`;
  const found = r.state === null ? 'unknown to the service' : r.state;
  const verdict = r.recovered ? 'recovered by query' : `expected ${r.order.state}`;
  return `${r.recovered ? '✓' : '✗'} ${r.order.kind.padEnd(12)} ${r.order.orderRef.padEnd(20)} ${found.padEnd(15)} lost          → ${verdict}, ${when}`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`simulator failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
