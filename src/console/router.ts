import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes, so that the service serves one page and reloads keep the view. Filters and cursors
 * live in the hash too; the token never does.
 */
export type Route =
  | { page: 'summary' }
  | { page: 'orders'; query: URLSearchParams }
  | { page: 'order'; kind: string; orderRef: string }
  | { page: 'deliveries'; query: URLSearchParams }
  | { page: 'destinations' }
  | { page: 'notifications'; query: URLSearchParams }
  | { page: 'audit'; query: URLSearchParams }
  | { page: 'not-found' };

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#/, '');
  const mark = text.indexOf('?');
  const path = mark === -1 ? text : text.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : text.slice(mark + 1));
  const parts = path.split('/').filter((part) => part !== '');
  let segments: string[];
  try {
    segments = parts.map((part) => decodeURIComponent(part));
  } catch {
    return { page: 'not-found' };
  }
  const [first, kind, orderRef, ...rest] = segments;
  if (first === undefined) return { page: 'summary' };
  if (first === 'orders' && kind === undefined) return { page: 'orders', query };
  if (first === 'orders' && kind !== undefined && orderRef !== undefined && rest.length === 0) return { page: 'order', kind, orderRef };
  if (first === 'deliveries' && kind === undefined) return { page: 'deliveries', query };
  if (first === 'destinations' && kind === undefined) return { page: 'destinations' };
  if (first === 'notifications' && kind === undefined) return { page: 'notifications', query };
  if (first === 'audit' && kind === undefined) return { page: 'audit', query };
  return { page: 'not-found' };
}

export function orderHref(kind: string, orderRef: string): string {
  return `#/orders/${encodeURIComponent(kind)}/${encodeURIComponent(orderRef)}`;
}

export function listHref(page: 'orders' | 'deliveries' | 'notifications' | 'audit', query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, value);
  const text = params.toString();
  return `#/${page}${text === '' ? '' : `?${text}`}`;
}

export function useHash(): string {
  const [hash, setHash] = useState(window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}
