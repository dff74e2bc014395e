import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * A module hook for a child Node process: every module it resolves is appended to a log file.
 * `env` goes into the child's environment; `loaded()` reads what it resolved so far; `remove()`
 * deletes the files once the child has exited.
 */
export function moduleLog(): { env: Record<string, string>; loaded(): string; remove(): void } {
  const directory = mkdtempSync(path.join(tmpdir(), 'receiver-modules-'));
  const hooks = path.join(directory, 'hooks.mjs');
  const register = path.join(directory, 'register.mjs');
  const log = path.join(directory, 'modules.log');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
     export async function resolve(specifier, context, next) {
       const result = await next(specifier, context);
       appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
       return result;
     }`,
  );
  writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hooks).href)});`);
  writeFileSync(log, '');
  return {
    env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` },
    loaded: () => readFileSync(log, 'utf8'),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}
