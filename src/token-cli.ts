import { SCOPES, mintToken, type Scope } from './auth/ops-tokens.js';

/**
 * `npm run token -- NAME SCOPE`: a new random ops token and its OPS_TOKENS entry. The token is
 * shown once, here; the service is configured with the entry, which holds only its SHA-256.
 */
const [name, scope] = process.argv.slice(2);
if (name === undefined || scope === undefined || !(SCOPES as readonly string[]).includes(scope)) {
  process.stderr.write(`usage: npm run token -- NAME ${SCOPES.join('|')}\n`);
  process.exit(2);
}
try {
  const { token, entry } = mintToken(name, scope as Scope);
  process.stdout.write(`token (give it to ${name}; it is not stored anywhere): ${token}\nOPS_TOKENS entry: ${entry}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
