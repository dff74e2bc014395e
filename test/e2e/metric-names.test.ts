import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification, signedNotification } from '../helpers/notify-client.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

// PromQL and Grafana words with an underscore that are not series.
const NOT_SERIES = new Set([
  'histogram_quantile',
  'label_values',
  'label_replace',
  'absent_over_time',
  'count_over_time',
  'max_over_time',
  'group_left',
  'group_right',
]);
const HISTOGRAM_PARTS = /_(bucket|sum|count)$/;

/** Every series name an expression uses: identifiers with an underscore, less PromQL's own words and Grafana's $__ variables. */
function seriesIn(expression: string): string[] {
  const withoutVariables = expression.replace(/\$__\w+/g, '').replace(/"[^"]*"/g, '""');
  return [...withoutVariables.matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*_[a-zA-Z0-9_:]*\b/g)].map((match) => match[0]).filter((name) => !NOT_SERIES.has(name));
}

interface RuleFile {
  groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
}
interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ definition?: string }> };
}

async function usedSeries(): Promise<Map<string, string>> {
  const rules = parse(await readFile('deploy/prometheus/alerts.yml', 'utf8')) as RuleFile;
  const dashboard = JSON.parse(await readFile('deploy/grafana/receiver.json', 'utf8')) as Dashboard;
  const used = new Map<string, string>();
  for (const rule of rules.groups.flatMap((group) => group.rules)) for (const name of seriesIn(rule.expr)) used.set(name, `alert ${rule.alert ?? rule.record}`);
  for (const panel of dashboard.panels)
    for (const target of panel.targets ?? []) for (const name of seriesIn(target.expr)) used.set(name, `panel "${panel.title}"`);
  for (const variable of dashboard.templating.list) for (const name of seriesIn(variable.definition ?? '')) used.set(name, 'a dashboard variable');
  return used;
}

/** The series a scrape declares (`# TYPE name kind`), with a histogram's _bucket, _sum and _count. */
function exported(scrape: string): Set<string> {
  const names = new Set<string>();
  for (const match of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', kind] = match;
    names.add(name);
    if (kind === 'histogram') for (const part of ['bucket', 'sum', 'count']) names.add(`${name}_${part}`);
  }
  return names;
}

let database: TestDatabase;
let downstream: FakeDownstream;
let server: ServerProcess;
const starpay = generateRsaKeyPair();

beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream();
  server = await startServerProcess({
    DATABASE_URL: database.url,
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    LOG_LEVEL: 'fatal',
  });
});
afterAll(async () => {
  await server.stop();
  await downstream.close();
  await database.drop();
});

describe('the alert rules and the dashboard', () => {
  it('use only series the running service exports', async () => {
    // Traffic first, so that labelled series have samples: a stored notification, a forged one, a delivery.
    const genuine = signedNotification(starpay.privateKey);
    expect(await postNotification(server.url, 'repayment', genuine.body)).toEqual({ status: 200, body: 'SUCCESS' });
    const forged = signedNotification(generateRsaKeyPair().privateKey);
    expect((await postNotification(server.url, 'repayment', forged.body)).status).toBe(401);
    await waitFor(() => downstream.received.length > 0, 15_000, 'a delivery');

    const scrape = await (await fetch(`${server.url}/metrics`)).text();
    const available = exported(scrape);
    const used = await usedSeries();
    expect(used.size).toBeGreaterThan(10);
    const unknown = [...used].filter(([name]) => !available.has(name)).map(([name, where]) => `${name} (${where})`);
    expect(unknown).toEqual([]);
    // A histogram is used through its parts; the check maps them back, so a made-up part is caught too.
    expect([...used.keys()].filter((name) => HISTOGRAM_PARTS.test(name)).length).toBeGreaterThan(0);
  });

  it('finds a made-up series, so a rename cannot slip through', () => {
    const available = exported('# TYPE receiver_notifications_total counter\n# TYPE receiver_notify_reply_seconds histogram\n');
    const names = seriesIn('sum(rate(receiver_notifications_totals[5m])) / sum(rate(receiver_notify_reply_seconds_count{status="503"}[$__rate_interval]))');
    expect(names).toEqual(['receiver_notifications_totals', 'receiver_notify_reply_seconds_count']);
    expect(names.filter((name) => !available.has(name))).toEqual(['receiver_notifications_totals']);
  });
});
