import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs a script in a fresh Node process and resolves with its exit code. */
function exitCodeOf(script: string): Promise<number | null> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('loading the embedded PostgreSQL package', () => {
  it("leaves a process's own exit code alone (its exit hook would turn a failed test run into exit 0)", async () => {
    const module = path.resolve('dist/database/embedded-postgres.js');
    const code = await exitCodeOf(`const m = await import(${JSON.stringify(module)}); await m.loadEmbeddedPostgres(); process.exitCode = 3;`);
    expect(code).toBe(3);
  });
});
