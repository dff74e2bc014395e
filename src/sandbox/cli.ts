import path from 'node:path';
import type { RunningSandboxApi, SandboxApi } from './sandbox-api.js';
import { starpagoSandbox } from './starpago-sandbox.js';
import { starpaySandbox } from './starpay-sandbox.js';

/** Every fake provider API the sandbox runs; a provider is one entry. */
const SANDBOX_APIS: readonly SandboxApi[] = [starpaySandbox, starpagoSandbox];

/** `npm run sandbox`: fake provider APIs for a local service to query; the only sandbox file that touches process. */
async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.DATA_DIR ?? './.data');
  const host = process.env.SANDBOX_HOST ?? '127.0.0.1';
  const print = (line: string) => process.stdout.write(`${line}\n`);

  const running: RunningSandboxApi[] = [];
  const stop = async () => {
    await Promise.allSettled(running.map((api) => api.close()));
  };
  try {
    for (const api of SANDBOX_APIS) running.push(await api.start({ dataDir, host, env: process.env, print }));
  } catch (error) {
    await stop();
    throw error;
  }

  for (const [index, api] of running.entries()) {
    print(`fake ${SANDBOX_APIS[index]?.name ?? 'provider'} API listening on ${api.url}`);
    for (const note of api.notes) print(`  ${note}`);
  }
  print('');
  print('environment for the service (npm start):');
  for (const api of running) for (const [name, value] of Object.entries(api.serviceEnv)) print(`${name}=${value}`);
  print('');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    print(`${signal}: stopping the sandbox`);
    void stop().then(() => {
      process.exitCode = 0;
    });
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
