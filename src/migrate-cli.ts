import { ConfigError, loadConfig, type Config } from './config/config.js';
import { openDirectPool } from './store/database.js';
import { migrate } from './store/migrate.js';

/** `npm run db:migrate`: applies pending migrations to DATABASE_DIRECT_URL (or DATABASE_URL) and exits. */
let config: Readonly<Config>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // A configuration mistake is the operator's to fix: one line naming the variables, no stack.
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
if (config.databaseUrl === undefined) {
  process.stderr.write('DATABASE_URL is unset; npm start migrates its embedded database by itself\n');
  process.exit(1);
}
// DATABASE_DIRECT_URL when given: a migration is no business for a transaction-mode pooler.
const pool = openDirectPool(config.databaseDirectUrl ?? config.databaseUrl, 1);
try {
  const applied = await migrate(pool);
  process.stdout.write(applied.length > 0 ? `applied ${applied.join(', ')}\n` : 'nothing to apply\n');
} finally {
  await pool.end();
}
