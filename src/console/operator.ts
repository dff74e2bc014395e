import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Operator } from './api.js';

/** Who is signed in; null until the service has said. */
export const OperatorContext = createContext<Operator | null>(null);

/** Action buttons show only to a bearer whose scope allows the action (the service refuses it anyway). */
export function useCanOperate(): boolean {
  return useContext(OperatorContext)?.scope === 'operate';
}
