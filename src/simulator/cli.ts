import { createPrivateKey, randomInt, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseSimulatorArgs, UsageError, USAGE, type SimulatorOptions } from './options.js';
import { planOrders, type OrderPlan } from './plan.js';
import { formatSummary, runSimulation, type Delivery } from './run.js';
import { resendDelays, scheduleSpanMs } from './schedule.js';

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

  const empty = formatSummary({ sent: 0, success: 0, refused: 0, retried: 0 });
  const privateKey = await loadKey(options.keyFile);
  if (privateKey === undefined) {
    process.stderr.write(
      `no private key at ${options.keyFile}: start the service once (npm start) so that it generates its development key pair, or pass --key FILE\n`,
    );
    process.stdout.write(`${empty}\n`);
    return 1;
  }
  if (!(await receiverAnswers(options.url))) {
    process.stderr.write(`nothing answers at ${options.url}: start the receiver (npm start) or pass --url\n`);
    process.stdout.write(`${empty}\n`);
    return 1;
  }

  const seed = options.seed ?? randomInt(2 ** 31);
  const orders = planOrders({ ...options, seed });
  const delays = resendDelays(options.timeScale);
  if (!options.quiet) process.stdout.write(`${describePlan(orders, options, seed, scheduleSpanMs(delays))}\n`);

  const result = await runSimulation(orders, {
    url: options.url,
    privateKey,
    delays,
    concurrency: options.concurrency,
    timeoutMs: options.timeoutMs,
    onDelivery: (delivery) => {
      if (!options.quiet || !delivery.asExpected) process.stdout.write(`${describeDelivery(delivery)}\n`);
    },
  });
  const unexpected = result.deliveries.filter((d) => !d.asExpected).length;
  if (unexpected > 0) {
    process.stderr.write(`${unexpected} notification(s) did not end as expected (marked ✗): genuine ones need SUCCESS, forged ones a 401\n`);
  }
  process.stdout.write(`${formatSummary(result.summary)}\n`);
  return result.ok ? 0 : 1;
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

function describePlan(orders: readonly OrderPlan[], options: SimulatorOptions, seed: number, spanMs: number): string {
  const notifications = orders.flatMap((o) => o.notifications);
  const count = (role: string) => notifications.filter((n) => n.role === role).length;
  const copies = notifications.reduce((sum, n) => sum + n.copies - 1, 0);
  return (
    `simulating ${orders.length} orders → ${options.url}: ${notifications.length} notifications ` +
    `(${count('late')} late, ${count('forged')} forged) + ${copies} parallel copies, ` +
    `resend schedule ${(spanMs / 1000).toFixed(1)} s (time scale ${options.timeScale}), seed ${seed}`
  );
}

function describeDelivery(d: Delivery): string {
  const { fields, role, copies } = d.notification;
  const state = [fields.trxState, fields.errorCode].filter((v) => v !== undefined).join(' ');
  const tags = [role === 'final' ? '' : role, copies > 1 ? 'copy' : ''].filter((t) => t !== '').join(',');
  const attempts = d.attempts > 1 ? ` after ${d.attempts} attempts` : '';
  const outcome = d.outcome === 'refused' ? `${d.lastReply} refused` : d.lastReply;
  return `${d.asExpected ? '✓' : '✗'} ${d.order.kind.padEnd(12)} ${d.order.orderRef.padEnd(18)} ${state.padEnd(15)} ${tags.padEnd(13)} → ${outcome}${attempts}`;
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
