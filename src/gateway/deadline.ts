/**
 * A call's signal, also aborted when `ms` have passed. A timer of our own, cleared (`clear`) when the work ends:
 * AbortSignal.timeout would keep every signal (and what hangs on it) alive until its timer fires - for a call's
 * ten-minute maximum, at thousands of calls a second, a heap of hundreds of megabytes.
 */
export function callDeadline(parent: AbortSignal, ms: number): { signal: AbortSignal; expired: () => boolean; clear: () => void } {
  const controller = new AbortController();
  let expired = false;
  const onAbort = (): void => {
    controller.abort(parent.reason);
  };
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new Error(`ran past its time of ${String(ms)} ms`));
  }, ms);
  return {
    signal: controller.signal,
    expired: () => expired,
    clear: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}
