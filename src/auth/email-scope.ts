import type { Scope } from './ops-tokens.js';

/** Whether an address is on a list of addresses and `*@domain` entries (all lowercase). */
function listed(email: string, list: readonly string[]): boolean {
  const domain = email.slice(email.lastIndexOf('@') + 1);
  return list.some((entry) => entry === email || entry === `*@${domain}`);
}

/** The scope a signed-in address gets: operate before read; undefined when it is on neither list. */
export function scopeOfEmail(email: string, lists: { operateEmails: readonly string[]; readEmails: readonly string[] }): Scope | undefined {
  const address = email.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(address)) return undefined;
  if (listed(address, lists.operateEmails)) return 'operate';
  if (listed(address, lists.readEmails)) return 'read';
  return undefined;
}
