import type { PrismaClient } from '../generated/prisma/client.js';
import type { Scope } from '../auth/ops-tokens.js';
import { recordAudit, type AuditEntry } from './audit.js';

/** The live (unexpired, unrevoked) session of a token hash. */
export async function findSession(prisma: PrismaClient, tokenHash: Buffer): Promise<{ email: string; scope: Scope } | undefined> {
  // The database's clock decides expiry, as it set it.
  const rows = await prisma.$queryRaw<{ email: string; scope: Scope }[]>`
    SELECT email, scope FROM ops_sessions WHERE token_hash = ${new Uint8Array(tokenHash)} AND revoked_at IS NULL AND expires_at > now()`;
  return rows[0];
}

/** Stores a new session by its token's hash, audited as one sign-in, in one transaction. */
export async function createSession(
  prisma: PrismaClient,
  session: { tokenHash: Buffer; email: string; scope: Scope; ttlMs: number },
  audit: AuditEntry,
): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`
      INSERT INTO ops_sessions (token_hash, email, scope, expires_at)
      VALUES (${new Uint8Array(session.tokenHash)}, ${session.email}, ${session.scope}, now() + ${session.ttlMs} * interval '1 millisecond')`;
    await recordAudit(tx, audit);
  });
}

/** Sign-out: the session stops working at once. */
export async function revokeSession(prisma: PrismaClient, tokenHash: Buffer): Promise<void> {
  await prisma.$executeRaw`UPDATE ops_sessions SET revoked_at = now() WHERE token_hash = ${new Uint8Array(tokenHash)} AND revoked_at IS NULL`;
}

/** A sign-in under way, until its callback or for ten minutes. */
export async function saveSsoLogin(prisma: PrismaClient, login: { stateHash: Buffer; codeVerifier: string; nonce: string }): Promise<void> {
  // Abandoned sign-ins are few; each start clears the expired ones.
  await prisma.$executeRaw`DELETE FROM sso_logins WHERE expires_at < now()`;
  await prisma.$executeRaw`
    INSERT INTO sso_logins (state_hash, code_verifier, nonce, expires_at)
    VALUES (${new Uint8Array(login.stateHash)}, ${login.codeVerifier}, ${login.nonce}, now() + interval '10 minutes')`;
}

/** Takes (reads and deletes) the sign-in of a state: a callback URL works once. */
export async function takeSsoLogin(prisma: PrismaClient, stateHash: Buffer): Promise<{ codeVerifier: string; nonce: string } | undefined> {
  const rows = await prisma.$queryRaw<{ code_verifier: string; nonce: string }[]>`
    DELETE FROM sso_logins WHERE state_hash = ${new Uint8Array(stateHash)} AND expires_at > now() RETURNING code_verifier, nonce`;
  const row = rows[0];
  return row === undefined ? undefined : { codeVerifier: row.code_verifier, nonce: row.nonce };
}
