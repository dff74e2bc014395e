import { describe, expect, it } from 'vitest';
import { scopeOfEmail } from '../../src/auth/email-scope.js';

describe('the scope of a signed-in address', () => {
  const lists = { operateEmails: ['ana@example.com', '*@ops.example.com'], readEmails: ['*@example.com', 'eve@partner.example'] };

  it('is operate on the operate list, read on the read list, operate first', () => {
    expect(scopeOfEmail('ana@example.com', lists)).toBe('operate');
    expect(scopeOfEmail('Ana@Example.COM', lists)).toBe('operate');
    expect(scopeOfEmail('bo@ops.example.com', lists)).toBe('operate');
    expect(scopeOfEmail('bo@example.com', lists)).toBe('read');
    expect(scopeOfEmail('eve@partner.example', lists)).toBe('read');
  });

  it('is nothing for anyone else, a subdomain or a look-alike included', () => {
    for (const email of ['mallory@partner.example', 'bo@sub.example.com', 'bo@example.com.evil', 'ana@example.com@evil.example', 'not an address', '']) {
      expect(scopeOfEmail(email, lists), email).toBeUndefined();
    }
  });
});
