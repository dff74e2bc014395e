import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { moduleLog } from '../helpers/module-log.js';
import { signedNotification } from '../helpers/notify-client.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const OPS_TOKEN = 'ops-token-that-no-span-may-carry-9a7e';
const SECRET_BYTES = 'dHJhY2luZy1zZWNyZXQtdGhhdC1tdXN0LW5vdC1sZWFr';
/** What an outsider sends, hoping the payment is recorded under a trace of its choosing. */
const OUTSIDER_TRACE_ID = 'abcdefabcdefabcdefabcdefabcdef01';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

let database: TestDatabase;
let downstream: FakeDownstream;
let collector: OtlpReceiver;
beforeAll(async () => {
  database = await createTestDatabase();
  downstream = await startFakeDownstream(() => ({ status: 204 }));
  collector = await startOtlpReceiver();
});
afterAll(async () => {
  await collector.close();
  await downstream.close();
  await database.drop();
});

/** The built service; `modules` records every module it loads. */
async function startService(
  env: Record<string, string>,
  modules: ReturnType<typeof moduleLog>,
): Promise<{ server: ServerProcess; starpay: ReturnType<typeof generateRsaKeyPair> }> {
  const starpay = generateRsaKeyPair();
  const server = await startServerProcess({
    DATABASE_URL: database.url,
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    OPS_API_TOKEN: OPS_TOKEN,
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET: `whsec_${SECRET_BYTES}`,
    LOG_LEVEL: 'warn',
    ...modules.env,
    ...env,
  });
  return { server, starpay };
}

/** Sends a signed notification carrying an outsider's traceparent; resolves with the order reference and body. */
async function notifyWithForeignTraceparent(server: ServerProcess, starpay: ReturnType<typeof generateRsaKeyPair>) {
  const notification = signedNotification(starpay.privateKey);
  const response = await fetch(`${server.url}/notify/starpay/repayment`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${OUTSIDER_TRACE_ID}-abcdefabcdef0001-01` },
    body: notification.body,
  });
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('SUCCESS');
  return notification;
}

const webhookOf = (ref: string) => downstream.received.find((webhook) => webhook.body.includes(ref));

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  it('puts the request, its ingest batch and the delivery attempt of its event in one trace, named by the traceparent the downstream receives', async () => {
    const modules = moduleLog();
    const { server, starpay } = await startService(
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' },
      modules,
    );
    let notification: { ref: string; body: string };
    try {
      notification = await notifyWithForeignTraceparent(server, starpay);
      await waitFor(() => webhookOf(notification.ref) !== undefined, 15_000, 'the webhook');
      const sent = webhookOf(notification.ref)?.headers.traceparent;
      const [, traceId, attemptSpanId] = TRACEPARENT.exec(String(sent)) ?? [];
      expect(traceId, `traceparent ${String(sent)}`).toBeDefined();
      await waitFor(() => collector.spans.some((span) => span.spanId === attemptSpanId), 15_000, 'the delivery attempt span');

      const trace = collector.spans.filter((span) => span.traceId === traceId);
      const request = trace.find((span) => span.name === 'POST /notify/starpay/repayment') as ReceivedSpan;
      const batch = trace.find((span) => span.name === 'ingest batch') as ReceivedSpan;
      const attempt = trace.find((span) => span.spanId === attemptSpanId) as ReceivedSpan;
      expect(request, 'request span').toBeDefined();
      expect(request.parentSpanId, 'the request starts the trace: the outsider picked nothing').toBe('');
      expect(traceId).not.toBe(OUTSIDER_TRACE_ID);
      expect(collector.spans.some((span) => span.traceId === OUTSIDER_TRACE_ID)).toBe(false);
      expect(request.attributes).toMatchObject({
        'receiver.provider': 'starpay',
        'receiver.kind': 'repayment',
        'receiver.order_ref': notification.ref,
        'receiver.outcome': 'created',
        'http.response.status_code': 200,
      });
      expect(batch.parentSpanId).toBe(request.spanId);
      expect(batch.links).toContainEqual({ traceId, spanId: request.spanId });
      expect(attempt.name).toBe('delivery attempt');
      expect(attempt.parentSpanId, 'the attempt continues the request, from the context stored with the event').toBe(request.spanId);
      expect(attempt.attributes).toMatchObject({
        'receiver.destination_type': 'http',
        'receiver.attempt': 1,
        'receiver.outcome': 'delivered',
        'http.response.status_code': 204,
      });
      expect(request.resource['service.name']).toBe('payment-notification-receiver');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    // Nothing secret in any span, attribute or resource: not the signature, body, token or webhook secret.
    const exported = collector.bodies.join('\n');
    const body = JSON.parse(notification.body) as { request: string | Record<string, unknown>; signature: string };
    for (const secret of [body.signature, body.signature.slice(0, 24), OPS_TOKEN, SECRET_BYTES, '"trxAmount"', 'mchId']) {
      expect(exported).not.toContain(secret);
    }
    // The check above can fail: the SDK was loaded in this process.
    expect(modules.loaded()).toContain('@opentelemetry/sdk-node');
    modules.remove();
  });
});

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT unset', () => {
  it('never loads the SDK, exports nothing and sends no traceparent', async () => {
    const modules = moduleLog();
    const exportsBefore = collector.bodies.length;
    const { server, starpay } = await startService({}, modules);
    try {
      const notification = await notifyWithForeignTraceparent(server, starpay);
      await waitFor(() => webhookOf(notification.ref) !== undefined, 15_000, 'the webhook');
      expect(webhookOf(notification.ref)?.headers.traceparent).toBeUndefined();
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    const loaded = modules.loaded();
    expect(loaded, 'the hook saw the service load').toContain('/dist/server.js');
    for (const sdkPart of ['@opentelemetry/sdk-node', '@opentelemetry/exporter-trace-otlp', '@fastify/otel', 'telemetry/sdk.js']) {
      expect(loaded).not.toContain(sdkPart);
    }
    expect(collector.bodies.length).toBe(exportsBefore);
    modules.remove();
  });
});
