import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { formatAmount, localTime } from './format.js';
import { listHref } from './router.js';

/** An instant in the viewer's zone, the UTC ISO value in its title. */
export function Time({ value }: { value: string | null | undefined }) {
  if (value === null || value === undefined) return <span class="muted">—</span>;
  return (
    <time dateTime={value} title={value}>
      {localTime(value)}
    </time>
  );
}

export function Money({ minor, currency }: { minor: number | null | undefined; currency: string | null | undefined }) {
  return <span class="money">{formatAmount(minor, currency)}</span>;
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state.toLowerCase().replace(/[^a-z]/g, '')}`}>{state}</span>;
}

export function YesNo({ value }: { value: boolean | undefined }) {
  if (value === undefined) return <span class="muted">—</span>;
  return value ? <strong class="flag">yes</strong> : <span>no</span>;
}

/** What went wrong, as the service said it: status, code, message. Always text. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const status = error.status === 0 ? '' : `${error.status} `;
    return `${status}${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorNote({ title, error }: { title: string; error: unknown }) {
  return (
    <p role="alert" class="error">
      {title}: {errorText(error)}
    </p>
  );
}

/** The page's heading, focused when the page opens so keyboard and screen-reader users land on it. */
export function Heading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Loading() {
  return (
    <p class="muted" role="status">
      Loading…
    </p>
  );
}

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` whenever `key` changes; a late answer for an earlier key is dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [generation, setGeneration] = useState(0);
  const current = useRef(0);
  useEffect(() => {
    const ticket = ++current.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => ticket === current.current && setState({ data, error: undefined, loading: false }),
      (error: unknown) => ticket === current.current && setState({ data: undefined, error, loading: false }),
    );
    // `load` is rebuilt every render; `key` says when it asks for something else.
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { ...state, reload };
}

/** A list's pager: back to the first page (when not on it) and on to the next (when there is one), keeping the filters. */
export function Pager(props: {
  list: Parameters<typeof listHref>[0];
  filters?: Record<string, string | undefined>;
  cursor: string | undefined;
  nextCursor: string | null;
}) {
  const filters = props.filters ?? {};
  return (
    <nav class="pager" aria-label="Pages">
      {props.cursor !== undefined && <a href={listHref(props.list, filters)}>First page</a>}
      {props.nextCursor !== null && <a href={listHref(props.list, { ...filters, cursor: props.nextCursor })}>Next page</a>}
    </nav>
  );
}
