/** What every fake provider API of `npm run sandbox` is given. */
export interface SandboxContext {
  /** Where development keys live (DATA_DIR). */
  dataDir: string;
  host: string;
  env: NodeJS.ProcessEnv;
  /** One line of output, e.g. a query the fake answered. */
  print: (line: string) => void;
}

export interface RunningSandboxApi {
  /** Where it listens, for the banner. */
  url: string;
  /** The variables the service needs to query this fake, in the order they are printed. */
  serviceEnv: Record<string, string>;
  /** Extra lines for the banner: how to register an order, where keys are. */
  notes: string[];
  close: () => Promise<void>;
}

/** One fake provider API: adding a provider to the sandbox is one of these plus one list entry. */
export interface SandboxApi {
  name: string;
  start(context: SandboxContext): Promise<RunningSandboxApi>;
}

/** A port from the environment, or the fixed default so that the printed URLs stay valid across runs. */
export function portFrom(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const text = env[variable];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${variable}: not a port: ${text}`);
  return port;
}
