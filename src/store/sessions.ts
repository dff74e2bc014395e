import type { PrismaClient } from '../generated/prisma/client.js';
import type { Scope } from '../auth/ops-tokens.js';
import { recordAudit, type AuditEntry } from './audit.js';

/** The live (unexpired, unrevoked) session of a token hash. */
export async function findSession(prisma: PrismaClient, tokenHash: Buffer): Promise<{ email: string; scope: Scope } | undefined> {
  const session = await prisma.opsSession.findFirst({
    where: { tokenHash: new Uint8Array(tokenHash), revokedAt: null, expiresAt: { gt: new Date() } },
    select: { email: true, scope: true },
  });
  return session === null ? undefined : { email: session.email, scope: session.scope as Scope };
}

/** Stores a new session by its token's hash, audited as one sign-in, in one transaction. */
export async function createSession(
  prisma: PrismaClient,
  session: { tokenHash: Buffer; email: string; scope: Scope; ttlMs: number },
  audit: AuditEntry,
): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.opsSession.create({
      data: { tokenHash: new Uint8Array(session.tokenHash), email: session.email, scope: session.scope, expiresAt: new Date(Date.now() + session.ttlMs) },
    });
    await recordAudit(tx, audit);
  });
}

/** Sign-out: the session stops working at once. */
export async function revokeSession(prisma: PrismaClient, tokenHash: Buffer): Promise<void> {
  await prisma.opsSession.updateMany({ where: { tokenHash: new Uint8Array(tokenHash), revokedAt: null }, data: { revokedAt: new Date() } });
}

/** A sign-in under way, until its callback or for ten minutes. */
export async function saveSsoLogin(prisma: PrismaClient, login: { stateHash: Buffer; codeVerifier: string; nonce: string }): Promise<void> {
  // Abandoned sign-ins are few; each start clears the expired ones.
  await prisma.ssoLogin.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  await prisma.ssoLogin.create({
    data: { stateHash: new Uint8Array(login.stateHash), codeVerifier: login.codeVerifier, nonce: login.nonce, expiresAt: new Date(Date.now() + 600_000) },
  });
}

/** Takes (reads and deletes) the sign-in of a state: a callback URL works once. */
export async function takeSsoLogin(prisma: PrismaClient, stateHash: Buffer): Promise<{ codeVerifier: string; nonce: string } | undefined> {
  const rows = await prisma.$queryRaw<{ code_verifier: string; nonce: string }[]>`
    DELETE FROM sso_logins WHERE state_hash = ${new Uint8Array(stateHash)} AND expires_at > now() RETURNING code_verifier, nonce`;
  const row = rows[0];
  return row === undefined ? undefined : { codeVerifier: row.code_verifier, nonce: row.nonce };
}
