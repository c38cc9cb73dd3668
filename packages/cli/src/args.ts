import { parseArgs } from 'node:util';
import { usage } from './errors.js';

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface Parsed {
  positionals: string[];
  values: Record<string, string | boolean | undefined>;
}

/** node:util parseArgs with `--json` on every command, and errors that are usage errors (exit 2). */
export function parse(argv: string[], options: OptionSpec, positionals: { min: number; max: number; names: string }): Parsed {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error));
  }
  const count = parsed.positionals.length;
  if (count < positionals.min || count > positionals.max) throw usage(`expected ${positionals.names || 'no arguments'}`);
  return { positionals: parsed.positionals, values: parsed.values as Parsed['values'] };
}

export const text = (parsed: Parsed, name: string): string | undefined => {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
};

export const flag = (parsed: Parsed, name: string): boolean => parsed.values[name] === true;
