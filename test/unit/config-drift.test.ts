import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { EnvSchema } from '../../src/config/config.js';

/** The variables the service reads: the keys of the zod object under any refinement or pipe. */
function schemaVariables(schema: z.ZodType): string[] {
  if ('shape' in schema && typeof schema.shape === 'object' && schema.shape !== null) return Object.keys(schema.shape);
  const inner = (schema.def as { in?: z.ZodType }).in;
  if (inner !== undefined) return schemaVariables(inner);
  throw new Error(`cannot list the variables of a ${schema.def.type} schema`);
}

/** `.env.example`: every variable once, each right below a `# comment` line, none unknown. */
function envExampleProblems(text: string, variables: readonly string[]): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    const name = /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1];
    if (name === undefined) return;
    if (seen.has(name)) problems.push(`${name} is listed twice`);
    seen.add(name);
    if (!/^#\s*\S/.test(lines[index - 1] ?? '')) problems.push(`${name} has no comment line above it`);
    if (!variables.includes(name)) problems.push(`${name} is not a configuration variable`);
  });
  for (const name of variables) if (!seen.has(name)) problems.push(`${name} is missing`);
  return problems;
}

/**
 * The variables named in the first column of the tables (header `variable`) of the configuration
 * reference's "Configuration" section. A cell may name several: `` `X_KEY` / `_FILE` `` is X_KEY and X_KEY_FILE.
 */
function readmeVariables(markdown: string): string[] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(markdown)?.[1];
  if (section === undefined) throw new Error('the configuration reference has no "## Configuration" section');
  const names: string[] = [];
  let inTable = false;
  for (const line of section.split('\n')) {
    const cells = line.startsWith('|') ? line.split('|').map((cell) => cell.trim()) : undefined;
    if (cells === undefined) {
      inTable = false;
      continue;
    }
    const first = cells[1] ?? '';
    if (first === 'variable') inTable = true;
    if (!inTable || first === 'variable' || /^-+$/.test(first)) continue;
    let previous = '';
    for (const [, name] of first.matchAll(/`([A-Z_][A-Z0-9_]*)`/g)) {
      const full = name!.startsWith('_') ? `${previous}${name!}` : name!;
      names.push(full);
      previous = full;
    }
  }
  return names;
}

function readmeProblems(markdown: string, variables: readonly string[]): string[] {
  const listed = readmeVariables(markdown);
  const problems: string[] = [];
  for (const name of new Set(listed)) {
    if (listed.indexOf(name) !== listed.lastIndexOf(name)) problems.push(`${name} is listed twice`);
    if (!variables.includes(name)) problems.push(`${name} is not a configuration variable`);
  }
  for (const name of variables) if (!listed.includes(name)) problems.push(`${name} is missing`);
  return problems;
}

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
const variables = schemaVariables(EnvSchema);

describe('the configuration documentation', () => {
  it('is checked against a non-empty list of variables taken from the schema', () => {
    expect(variables).toContain('DATABASE_URL');
    expect(variables).toContain('FORWARD_SECRET');
  });

  it('.env.example lists every variable of the schema, each with a comment above it, and nothing else', () => {
    expect(envExampleProblems(read('.env.example'), variables)).toEqual([]);
  });

  it("the configuration reference's table (docs/configuration.md) lists exactly the schema's variables", () => {
    expect(readmeProblems(read('docs/configuration.md'), variables)).toEqual([]);
  });
});

describe('the drift check itself', () => {
  it('reports a variable without a comment, one the schema lacks, and one that is missing', () => {
    const text = ['# HTTP port', 'PORT=3000', 'HOST=0.0.0.0', '# old', 'LEGACY_FLAG=1', ''].join('\n');
    expect(envExampleProblems(text, ['PORT', 'HOST', 'LOG_LEVEL'])).toEqual([
      'HOST has no comment line above it',
      'LEGACY_FLAG is not a configuration variable',
      'LOG_LEVEL is missing',
    ]);
  });

  it('reads several variables from one README cell and reports what the table gets wrong', () => {
    const markdown = [
      '## Configuration',
      '',
      '| variable | default | meaning |',
      '|---|---|---|',
      '| `PORT` | `3000` | HTTP port |',
      '| `KEY` / `_FILE` | unset | a key, or a file holding it |',
      '| `OLD` | unset | gone |',
      '',
      'Prose mentioning `HOST` is not the table.',
      '',
      '## Next',
      '| variable | default | meaning |',
      '|---|---|---|',
      '| `LATER` | unset | another section |',
      '',
    ].join('\n');
    expect(readmeVariables(markdown)).toEqual(['PORT', 'KEY', 'KEY_FILE', 'OLD']);
    expect(readmeProblems(markdown, ['PORT', 'KEY', 'KEY_FILE', 'HOST'])).toEqual(['OLD is not a configuration variable', 'HOST is missing']);
  });
});
