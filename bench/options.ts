/** Bench settings: flags win over environment variables, which win over the defaults. */
export interface BenchOptions {
  /** Unique notifications per phase. */
  n: number;
  /** Requests in flight (HTTP) and pg connections (ceiling). */
  concurrency: number;
  /** Measured rounds (each: new, duplicates, ceiling new, ceiling duplicates); medians are reported. */
  rounds: number;
  /** Requests (and ceiling calls) sent before measuring, not counted. */
  warmup: number;
  /** Run the soak instead of the throughput phases. */
  soak: boolean;
  soakSeconds: number;
  soakRate: number;
  /** Directory the JSON result is written to. */
  outDir: string;
  /** Service log level during the run (the production default is info). */
  logLevel: string;
  /** The steady phase of each round: new notifications at this rate (open loop) for this long. */
  steadyRate: number;
  steadySeconds: number;
  /** Events in the forwarding phases' backlogs (deliveries/s, recovery after an outage). */
  backlog: number;
  /** Only the forwarding phases (for profiling the forwarder). */
  forwardingOnly: boolean;
  /** Only the cost of tracing: a traced and an untraced service, rounds alternating. */
  tracingOnly: boolean;
  /** Forwarder on (the default). `--no-forward` is for analysis: it shows what forwarding costs. */
  forward: boolean;
}

const USAGE = `usage: npm run bench -- [--n 5000] [--c 32] [--rounds 3] [--warmup 2000] [--steady-rate 200] [--steady-seconds 10] [--backlog 10000] [--log-level info] [--no-forward] [--forwarding-only] [--tracing-only] [--out bench/results]
       npm run bench -- --soak [--soak-seconds 120] [--soak-rate 100]
  env: BENCH_N, BENCH_C, BENCH_ROUNDS, BENCH_WARMUP, BENCH_STEADY_RATE, BENCH_STEADY_SECONDS, BENCH_BACKLOG, BENCH_SOAK_SECONDS, BENCH_SOAK_RATE, BENCH_LOG_LEVEL, BENCH_OUT_DIR,
       DATABASE_URL (an existing server: the bench creates and drops fresh databases on it)`;

export function parseOptions(argv: readonly string[], env: Record<string, string | undefined>): BenchOptions {
  const flags = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (name === 'soak' || name === 'no-forward' || name === 'forwarding-only' || name === 'tracing-only') {
      switches.add(name);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value\n${USAGE}`);
    flags.set(name, value);
  }
  const known = new Set(['n', 'c', 'rounds', 'warmup', 'steady-rate', 'steady-seconds', 'backlog', 'soak-seconds', 'soak-rate', 'out', 'log-level']);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown flag --${name}\n${USAGE}`);

  const int = (flag: string, variable: string, fallback: number, min: number, max: number): number => {
    const text = flags.get(flag) ?? env[variable];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${flag} / ${variable} must be an integer in [${min}, ${max}]`);
    return value;
  };
  return {
    n: int('n', 'BENCH_N', 5_000, 1, 200_000),
    // The embedded PostgreSQL allows 100 connections; the service and the ceiling pool share them.
    concurrency: int('c', 'BENCH_C', 32, 1, 64),
    rounds: int('rounds', 'BENCH_ROUNDS', 3, 1, 10),
    warmup: int('warmup', 'BENCH_WARMUP', 2_000, 0, 20_000),
    steadyRate: int('steady-rate', 'BENCH_STEADY_RATE', 200, 1, 5_000),
    steadySeconds: int('steady-seconds', 'BENCH_STEADY_SECONDS', 10, 1, 120),
    backlog: int('backlog', 'BENCH_BACKLOG', 10_000, 1, 200_000),
    soak: switches.has('soak') || env.BENCH_SOAK === '1',
    soakSeconds: int('soak-seconds', 'BENCH_SOAK_SECONDS', 120, 5, 1_800),
    soakRate: int('soak-rate', 'BENCH_SOAK_RATE', 100, 1, 2_000),
    outDir: flags.get('out') ?? env.BENCH_OUT_DIR ?? 'bench/results',
    logLevel: flags.get('log-level') ?? env.BENCH_LOG_LEVEL ?? 'info',
    forward: !switches.has('no-forward'),
    forwardingOnly: switches.has('forwarding-only'),
    tracingOnly: switches.has('tracing-only'),
  };
}
