import { z } from 'zod';

/** The building blocks of the configuration's variables, shared by src/config/config.ts and the providers' fragments. */

/** Unset, empty or blank: undefined; otherwise trimmed. */
export const optionalText = z
  .string()
  .transform((value) => value.trim())
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** A URL with one of the given schemes; the message never repeats the value (it may hold a password). */
export const urlWithScheme = (schemes: readonly string[], message: string) =>
  z.string().refine((value) => {
    try {
      return schemes.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, message);

export const httpUrl = urlWithScheme(['http:', 'https:'], 'must be an http(s) URL');

/** https, or plain http to this machine only (a local sandbox or a sidecar). */
export function isHttpsOrLoopback(value: string): boolean {
  const url = new URL(value);
  if (url.protocol === 'https:') return true;
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
}

/** Reports a problem with one variable, in words that never repeat its value. */
export type Problem = (variable: string, message: string) => void;

/**
 * A provider's part of the configuration, kept in its folder: its variables, the rules between
 * them, whether they configure it (production needs at least one provider), and what it reads.
 */
export interface ProviderEnv<Shape extends z.ZodRawShape, Read> {
  shape: Shape;
  /** The variable that configures the provider, named when production has none configured. */
  configuredBy: string;
  check(env: z.output<z.ZodObject<Shape>>, problem: Problem, production: boolean): void;
  configured(env: z.output<z.ZodObject<Shape>>): boolean;
  read(env: z.output<z.ZodObject<Shape>>): Read;
}
