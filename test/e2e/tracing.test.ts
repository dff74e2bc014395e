import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** Markers that must never reach the collector: in a body field, in a query string, in a refused body's key. */
const BODY_MARKER = 'BODYMARKER7f3a';
const QUERY_MARKER = 'QUERYMARKER91c2';
const REFUSED_MARKER = 'REFUSEDKEYMARKER5d8e';

/**
 * Sends a signed notification (a marker in one of its fields, another in the query string)
 * carrying an outsider's traceparent; resolves with the order reference and body.
 */
async function notifyWithForeignTraceparent(server: ServerProcess, starpay: ReturnType<typeof generateRsaKeyPair>) {
  const notification = signedNotification(starpay.privateKey, { attach: BODY_MARKER });
  const response = await fetch(`${server.url}/notify/starpay/repayment?probe=${QUERY_MARKER}`, {
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
    let refusedStatus: number;
    try {
      notification = await notifyWithForeignTraceparent(server, starpay);
      // A refused body whose member name an attacker chose (repeated, which names it in the refusal's detail): it must not reach a span.
      const refused = await fetch(`${server.url}/notify/starpay/repayment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"request":{"originalMsgId":"x"},"signature":"AAAA","${REFUSED_MARKER}":1,"${REFUSED_MARKER}":2}`,
      });
      refusedStatus = refused.status;
      expect(refusedStatus).toBeGreaterThanOrEqual(400);
      await waitFor(() => webhookOf(notification.ref) !== undefined, 15_000, 'the webhook');
      const sent = webhookOf(notification.ref)?.headers.traceparent;
      const [, traceId, attemptSpanId] = TRACEPARENT.exec(String(sent)) ?? [];
      expect(traceId, `traceparent ${String(sent)}`).toBeDefined();
      await waitFor(() => collector.spans.some((span) => span.spanId === attemptSpanId), 15_000, 'the delivery attempt span');
      await waitFor(() => collector.spans.some((span) => span.attributes['http.response.status_code'] === refusedStatus), 15_000, 'the refused request span');

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
        'url.path': '/notify/starpay/repayment',
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
      const refusedSpan = collector.spans.find((span) => span.attributes['http.response.status_code'] === refusedStatus) as ReceivedSpan;
      expect(refusedSpan.attributes).toMatchObject({ 'receiver.provider': 'starpay', 'receiver.kind': 'repayment', 'receiver.outcome': expect.any(String) });
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }

    // Nothing secret or sent by a client in any span, attribute, event or resource.
    const exported = collector.bodies.join('\n');
    const body = JSON.parse(notification.body) as { signature: string };
    for (const secret of [body.signature, body.signature.slice(0, 24), OPS_TOKEN, SECRET_BYTES, BODY_MARKER, QUERY_MARKER, REFUSED_MARKER]) {
      expect(exported).not.toContain(secret);
    }
    // The check above can fail: the SDK was loaded in this process, and it exported.
    expect(exported).toContain(notification.ref);
    expect(modules.loaded()).toContain('@opentelemetry/sdk-node');
    modules.remove();
  });

  it('exports over http/protobuf by default, to {endpoint}/v1/traces', async () => {
    const modules = moduleLog();
    const before = collector.requests.length;
    const { server, starpay } = await startService({ OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`, OTEL_BSP_SCHEDULE_DELAY: '100' }, modules);
    try {
      await notifyWithForeignTraceparent(server, starpay);
      await waitFor(() => collector.requests.length > before, 15_000, 'an export');
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
      modules.remove();
    }
    const exports = collector.requests.slice(before);
    expect(exports.every((request) => request.path === '/v1/traces' && request.contentType === 'application/x-protobuf' && request.bytes > 0)).toBe(true);
  });

  it('shuts down within its grace when the collector accepts connections but never answers', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const modules = moduleLog();
    try {
      const { port } = silent.address() as AddressInfo;
      const { server, starpay } = await startService(
        { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_BSP_SCHEDULE_DELAY: '60000', SHUTDOWN_GRACE_MS: '6000' },
        modules,
      );
      await notifyWithForeignTraceparent(server, starpay);
      // The spans wait in the exporter's buffer: the flush at shutdown meets a collector that never answers.
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      modules.remove();
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('tracing with OTEL_EXPORTER_OTLP_ENDPOINT unset', () => {
  it('never loads the SDK and sends no traceparent', async () => {
    const modules = moduleLog();
    const { server, starpay } = await startService({}, modules);
    try {
      const notification = await notifyWithForeignTraceparent(server, starpay);
      await waitFor(() => webhookOf(notification.ref) !== undefined, 15_000, 'the webhook');
      expect(webhookOf(notification.ref)?.headers.traceparent).toBeUndefined();
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
    const loaded = modules.loaded();
    modules.remove();
    expect(loaded, 'the hook saw the service load').toContain('/dist/server.js');
    for (const sdkPart of ['@opentelemetry/sdk-node', '@opentelemetry/exporter-trace-otlp', '@fastify/otel', 'telemetry/sdk.js']) {
      expect(loaded).not.toContain(sdkPart);
    }
  });
});
