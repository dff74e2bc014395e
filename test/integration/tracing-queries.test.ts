import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStarpay } from '../../src/sandbox/starpay-api.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createLogger } from '../../src/logger.js';
import { startTracing, type Tracing } from '../../src/telemetry/sdk.js';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { FORWARD_SECRET, startTestApp, type TestApp } from '../helpers/app.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

// The tracing SDK of this test process, as src/server.ts starts it with OTEL_EXPORTER_OTLP_ENDPOINT set.
const MCH_ID = '101510000001';
const platform = generateRsaKeyPair();
const merchant = generateRsaKeyPair();

let fake: Awaited<ReturnType<typeof startFakeStarpay>>;
let collector: OtlpReceiver;
let tracing: Tracing;
let t: TestApp;
let downstream: FakeDownstream;
let destinations: Destination[];
let forwarder: Forwarder;

beforeAll(async () => {
  collector = await startOtlpReceiver();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collector.url;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  tracing = startTracing({ url: `${collector.url}/v1/traces`, protocol: 'http/json', serviceName: 'payment-notification-receiver' }, createLogger('silent'));
  fake = await startFakeStarpay({ merchantPublicKey: merchant.publicKey, platformPrivateKey: platform.privateKey, mchId: MCH_ID });
  downstream = await startFakeDownstream(() => ({ status: 204 }));
  t = await startTestApp(
    {
      FORWARD_URLS: downstream.url,
      FORWARD_SECRET,
      STARPAY_API_URL: fake.url,
      STARPAY_MCH_ID: MCH_ID,
      STARPAY_MERCHANT_PRIVATE_KEY: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      RECONCILE_SCHEDULE: '1s,1s,1s',
    },
    { starpay: platform, tracingPlugin: tracing.plugin },
  );
  // A forwarder of its own, as another replica's would be: it reads the trace context from the event.
  destinations = createDestinations([downstream.url], { timeoutMs: 5_000, webhookSecret: FORWARD_SECRET });
  forwarder = createForwarder({ pool: t.db.pool, destinations, forward: t.config.forward, logger: createLogger('silent') });
  await forwarder.start();
});
afterAll(async () => {
  await forwarder.stop();
  await Promise.all(destinations.map((destination) => destination.close()));
  await downstream.close();
  await t.close();
  await tracing.shutdown();
  await fake.close();
  await collector.close();
});

const traceparentOf = (span: { traceId: string; spanId: string }) => `00-${span.traceId}-${span.spanId}-01`;

async function eventTraceparents(ref: string): Promise<(string | null)[]> {
  const { rows } = await t.db.pool.query<{ trace_parent: string | null }>(
    'SELECT e.trace_parent FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1 ORDER BY e.id',
    [ref],
  );
  return rows.map((row) => row.trace_parent);
}

describe('tracing of provider queries', () => {
  it("gives each query a span, and the event its answer writes that span's context; the notification's event keeps its request's", async () => {
    const ref = `trace-${Date.now()}`;
    const fields = requestFields({ mchId: MCH_ID, originalMsgId: ref, trxState: 'PROCESSING', attach: 'QUERYTESTMARKER4b1d' });
    const response = await t.app.inject({
      method: 'POST',
      url: '/notify/starpay/disbursement',
      headers: { traceparent: '00-abcdefabcdefabcdefabcdefabcdef01-abcdefabcdef0001-01' },
      payload: signedBody(fields, platform.privateKey),
    });
    expect(response.body).toBe('SUCCESS');
    fake.setOrder('disbursement', ref, { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
    await t.db.pool.query('UPDATE provider_queries SET due_at = now() WHERE kind = $1 AND order_ref = $2', ['disbursement', ref]);
    expect(await t.reconciler.runDue()).toBeGreaterThanOrEqual(1);

    const queryOf = () => collector.spans.find((span) => span.name === 'provider query' && span.attributes['receiver.order_ref'] === ref);
    const requestOf = () => collector.spans.find((span) => span.name === 'POST /notify/starpay/disbursement' && span.attributes['receiver.order_ref'] === ref);
    await waitFor(() => queryOf() !== undefined && requestOf() !== undefined, 10_000, 'the spans');
    const query = queryOf() as NonNullable<ReturnType<typeof queryOf>>;
    const request = requestOf() as NonNullable<ReturnType<typeof requestOf>>;

    expect(query.attributes).toMatchObject({ 'receiver.provider': 'starpay', 'receiver.kind': 'disbursement', 'receiver.outcome': 'changed' });
    expect(request.parentSpanId, 'an incoming traceparent is not adopted').toBe('');
    expect(request.traceId).not.toBe('abcdefabcdefabcdefabcdefabcdef01');
    expect(await eventTraceparents(ref)).toEqual([traceparentOf(request), traceparentOf(query)]);

    // The answer's event is delivered in the query's trace, the notification's in the request's.
    const attemptsOf = (parent: { spanId: string }) =>
      collector.spans.filter((span) => span.name === 'delivery attempt' && span.parentSpanId === parent.spanId);
    await waitFor(() => attemptsOf(query).length > 0 && attemptsOf(request).length > 0, 10_000, 'both delivery attempt spans');
    expect(attemptsOf(query)[0]?.traceId).toBe(query.traceId);
    const received = downstream.received.filter((webhook) => webhook.body.includes(ref)).map((webhook) => String(webhook.headers.traceparent).split('-')[1]);
    expect(received.sort()).toEqual([query.traceId, request.traceId].sort());
    // Nothing of the signed request or the provider's answer is an attribute.
    const exported = collector.bodies.join('\n');
    expect(exported).not.toContain('QUERYTESTMARKER4b1d');
    expect(exported).not.toContain(String(fields.msgId));
  });
});
