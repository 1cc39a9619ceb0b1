// Access and refresh tokens, kept in localStorage so a reload stays signed in. Refresh tokens
// rotate on every use and a reused one revokes the whole family, so refreshes are
// single-flight in this tab and serialized across tabs (Web Locks) with a re-read of storage:
// if another tab already rotated the pair we adopt its result instead of spending ours twice.
import type { AuthAnswer, User } from './types';

export interface StoredAuth {
  access_token: string;
  refresh_token: string;
  expires_at: number; // ms since epoch
  user: User | null;
}

export interface KeyValue {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
}

const KEY = 'hype.auth';
const EARLY_MS = 30_000;

export class TokenStore {
  private auth: StoredAuth | null;
  private inflight: Promise<void> | null = null;
  private listeners = new Set<(a: StoredAuth | null) => void>();

  constructor(
    private readonly storage: KeyValue | null,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.auth = this.read();
  }

  current(): StoredAuth | null {
    return this.auth;
  }
  accessToken(): string | null {
    return this.auth?.access_token ?? null;
  }
  user(): User | null {
    return this.auth?.user ?? null;
  }

  onChange(fn: (a: StoredAuth | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(answer: AuthAnswer, user?: User | null): void {
    this.auth = {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      expires_at: this.now() + answer.expires_in * 1000,
      user: user ?? answer.user ?? this.auth?.user ?? null,
    };
    this.write();
  }

  setUser(user: User): void {
    if (!this.auth) return;
    this.auth = { ...this.auth, user };
    this.write();
  }

  clear(): void {
    this.auth = null;
    this.write();
  }

  /** True when the access token is missing or will expire within the safety margin. */
  needsRefresh(): boolean {
    const a = this.auth;
    return !!a && a.expires_at - this.now() < EARLY_MS;
  }

  async ensureFresh(call: (rt: string) => Promise<AuthAnswer>): Promise<void> {
    if (this.needsRefresh()) await this.refresh(call);
  }

  refresh(call: (rt: string) => Promise<AuthAnswer>): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.withLock(() => this.doRefresh(call)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async doRefresh(call: (rt: string) => Promise<AuthAnswer>): Promise<void> {
    const before = this.auth?.refresh_token;
    const stored = this.read();
    if (stored && stored.refresh_token !== before && stored.expires_at - this.now() > EARLY_MS) {
      this.auth = stored; // another tab rotated the pair meanwhile
      this.emit();
      return;
    }
    const rt = stored?.refresh_token ?? before;
    if (!rt) throw new Error('not signed in');
    try {
      const answer = await call(rt);
      this.set(answer);
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 401 || status === 403) this.clear(); // family revoked or expired: sign out
      throw e;
    }
  }

  private async withLock<T>(fn: () => Promise<T>): Promise<T> {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (locks?.request) return locks.request('hype.refresh', fn) as Promise<T>;
    return fn();
  }

  private read(): StoredAuth | null {
    try {
      const raw = this.storage?.getItem(KEY);
      return raw ? (JSON.parse(raw) as StoredAuth) : null;
    } catch {
      return null;
    }
  }

  private write(): void {
    try {
      if (this.auth) this.storage?.setItem(KEY, JSON.stringify(this.auth));
      else this.storage?.removeItem(KEY);
    } catch {
      /* storage full or blocked: keep the in-memory copy */
    }
    this.emit();
  }

  private emit() {
    for (const l of this.listeners) l(this.auth);
  }
}
