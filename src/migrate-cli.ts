import { loadConfig } from './config/config.js';
import { openDatabase } from './store/database.js';
import { migrate } from './store/migrate.js';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL and exits. */
const config = loadConfig(process.env);
if (config.databaseUrl === undefined) {
  process.stderr.write('DATABASE_URL is unset; npm start migrates its embedded database by itself\n');
  process.exit(1);
}
const db = openDatabase(config.databaseUrl);
try {
  const applied = await migrate(db.pool);
  process.stdout.write(applied.length > 0 ? `applied ${applied.join(', ')}\n` : 'nothing to apply\n');
} finally {
  await db.close();
}
