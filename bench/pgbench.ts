import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LoadResult } from './load.js';
import type { SignedNotification } from './notifications.js';

/** pgbench's version line, or undefined when Debian's pgbench (postgresql-client) is not installed. */
export function pgbenchVersion(): string | undefined {
  try {
    return execFileSync('pgbench', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** A text literal without a colon: pgbench would read `:name` inside it as one of its variables. */
const quote = (text: string) => `convert_from(decode('${Buffer.from(text, 'utf8').toString('base64')}', 'base64'), 'UTF8')`;

/**
 * The minimal durable transaction of a new notification, as one statement (one round trip, one
 * commit): insert the notification, upsert its order, insert the event. Rows shaped like the
 * service's (the same request text, signature and event body sizes), on the service's schema.
 */
export function minimalTransactionScript(sample: SignedNotification): string {
  const body = JSON.stringify({
    type: `starpay.${sample.kind}.state_changed`,
    timestamp: new Date().toISOString(),
    data: {
      provider: 'starpay',
      kind: sample.kind,
      orderRef: 'x'.repeat(30),
      source: 'notification',
      state: 'SUCCESS',
      previousState: null,
      rawState: 'SUCCESS',
      amount: 1_000_000,
      paidAmount: null,
      expectedAmount: null,
      currency: 'PHP',
      trxDate: '2024-11-25T17:49:51+08:00',
      errorCode: null,
      errorMessage: null,
    },
  });
  const sql = `WITH k AS (SELECT CAST(gen_random_uuid() AS text) AS ref),
n AS (
  INSERT INTO notifications (provider, kind, order_ref, dedup_key, msg_id, status, source, raw_state, state, request, signed_text, signature)
  SELECT 'starpay', ${quote(sample.kind)}, 'pgbench-' || k.ref, 'msg:' || k.ref, k.ref, 'accepted', 'notification', 'SUCCESS', 'SUCCESS',
         CAST(${quote(sample.requestText)} AS jsonb), ${quote(sample.requestText)}, ${quote(sample.signature)}
  FROM k RETURNING order_ref
), o AS (
  INSERT INTO orders (provider, kind, order_ref, state, raw_state, amount, currency, trx_date, notification_count)
  SELECT 'starpay', ${quote(sample.kind)}, n.order_ref, 'SUCCESS', 'SUCCESS', 1000000, 'PHP', ${quote('2024-11-25T17:49:51+08:00')}, 1 FROM n
  ON CONFLICT ON CONSTRAINT orders_kind_order_ref_key DO UPDATE SET notification_count = orders.notification_count + 1, updated_at = now()
  RETURNING id
)
INSERT INTO events (public_id, order_id, type, body)
SELECT 'evt_' || replace(k.ref, '-', ''), o.id, ${quote(`starpay.${sample.kind}.state_changed`)}, ${quote(body)} FROM o, k;`;
  return `${sql}\n`;
}

/**
 * pgbench with `concurrency` clients (as many threads as cores, at most one per client), each
 * running `transactions / concurrency` of the script, prepared statements, per-transaction log
 * read back for the latencies. Its CPU is the bench's: it runs as the bench's child.
 */
export async function runPgbench(
  url: string,
  script: string,
  transactions: number,
  concurrency: number,
  threads: number,
  deadlineMs: number,
): Promise<LoadResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'starpay-bench-pgbench-'));
  try {
    const scriptFile = path.join(dir, 'minimal.sql');
    await writeFile(scriptFile, script);
    const perClient = Math.max(1, Math.ceil(transactions / concurrency));
    const args = [
      '-n',
      '-M',
      'prepared',
      '-c',
      String(concurrency),
      '-j',
      String(Math.min(threads, concurrency)),
      '-t',
      String(perClient),
      '-f',
      scriptFile,
      '-l',
      `--log-prefix=${path.join(dir, 'log')}`,
      url,
    ];
    const started = performance.now();
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('pgbench', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, output: text });
      });
    });
    const wall = (performance.now() - started) / 1000;
    // Latencies from the per-transaction log: "client_id transaction_no time_us script_no epoch us".
    const latencies: number[] = [];
    for (const file of (await readdir(dir)).filter((name) => name.startsWith('log'))) {
      for (const line of (await readFile(path.join(dir, file), 'utf8')).split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line !== '' && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? latencies.length);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1] ?? Number.NaN);
    const failures: Record<string, number> = {};
    if (code !== 0)
      failures[
        `pgbench exit ${code}: ${output
          .trim()
          .split('\n')
          .filter((l) => /error|abort/i.test(l))
          .slice(0, 2)
          .join(' ')}`
      ] = Math.max(1, perClient * concurrency - processed);
    // pgbench's own rate excludes its connection set-up, as the pool-based ceiling's does.
    const seconds = Number.isFinite(tps) && tps > 0 ? processed / tps : wall;
    return { sent: processed, ok: code === 0 ? processed : 0, failures, seconds, latencies: Float64Array.from(latencies) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
