import { createHash, randomBytes } from 'node:crypto';

/** What a bearer may do: `read` every GET /ops/*, `operate` also the actions. */
export const SCOPES = ['read', 'operate'] as const;
export type Scope = (typeof SCOPES)[number];

/** A configured token: its name (the audit log's actor), its scope and the SHA-256 of the token. */
export interface OpsToken {
  name: string;
  scope: Scope;
  /** Lowercase hex SHA-256 of the token; the token itself is never configured. */
  sha256: string;
}

/** The name OPS_API_TOKEN goes by. */
export const DEFAULT_TOKEN_NAME = 'default';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * `NAME:SCOPE:SHA256HEX,…` → tokens, or the problems of every bad entry. A problem names the entry
 * by position and name, never repeats its hash.
 */
export function parseOpsTokens(text: string): { tokens: OpsToken[]; problems: string[] } {
  const tokens: OpsToken[] = [];
  const problems: string[] = [];
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  entries.forEach((entry, index) => {
    const parts = entry.split(':');
    const [name = '', scope = '', hash = ''] = parts;
    const which = `entry ${index + 1}${NAME.test(name) ? ` (${name})` : ''}`;
    if (parts.length !== 3) return problems.push(`${which} must be NAME:SCOPE:SHA256HEX`);
    if (!NAME.test(name)) return problems.push(`${which} has a bad name: 1-64 of A-Z a-z 0-9 _ . @ -, starting with a letter or digit`);
    if (!(SCOPES as readonly string[]).includes(scope)) return problems.push(`${which} has an unknown scope: must be read or operate`);
    if (!SHA256_HEX.test(hash)) return problems.push(`${which} must end in the token's SHA-256 as 64 lowercase hex digits`);
    if (tokens.some((token) => token.name === name)) return problems.push(`${which} repeats the name ${name}`);
    if (tokens.some((token) => token.sha256 === hash)) return problems.push(`${which} repeats the hash of another entry`);
    tokens.push({ name, scope: scope as Scope, sha256: hash });
  });
  return { tokens, problems };
}

/** A new random token (256 bits) and the OPS_TOKENS entry that admits it. */
export function mintToken(name: string, scope: Scope): { token: string; entry: string } {
  if (!NAME.test(name)) throw new Error('the name must be 1-64 of A-Z a-z 0-9 _ . @ -, starting with a letter or digit');
  const token = `ops_${randomBytes(32).toString('base64url')}`;
  return { token, entry: `${name}:${scope}:${sha256Hex(token)}` };
}
