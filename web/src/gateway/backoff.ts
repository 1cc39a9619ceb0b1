// Reconnect delays: exponential from `base` up to `max`, with "equal jitter" so a server
// restart does not bring every client back in the same millisecond.
export interface BackoffOptions {
  base?: number;
  max?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.base ?? 1000;
  const max = opts.max ?? 30_000;
  const random = opts.random ?? Math.random;
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.round(exp / 2 + random() * (exp / 2));
}
