import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError } from './http';
import { TokenStore, type KeyValue } from './tokens';

function mem(): KeyValue & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}
function json(status: number, body: unknown) {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('TokenStore', () => {
  it('persists and reloads', () => {
    const s = mem();
    const a = new TokenStore(s, () => 1000);
    a.set({ access_token: 'A', refresh_token: 'R', expires_in: 900, user: { id: '1', username: 'x' } });
    const b = new TokenStore(s, () => 1000);
    expect(b.accessToken()).toBe('A');
    expect(b.user()?.username).toBe('x');
    expect(b.current()!.expires_at).toBe(901_000);
  });

  it('refreshes early, once, even when asked concurrently (rotation)', async () => {
    let now = 0;
    const t = new TokenStore(mem(), () => now);
    t.set({ access_token: 'A1', refresh_token: 'R1', expires_in: 60 });
    expect(t.needsRefresh()).toBe(false);
    now = 40_000;
    expect(t.needsRefresh()).toBe(true);
    const call = vi.fn(async (rt: string) => ({ access_token: 'A2', refresh_token: rt + '+', expires_in: 60 }));
    await Promise.all([t.ensureFresh(call), t.ensureFresh(call), t.refresh(call)]);
    expect(call).toHaveBeenCalledTimes(1);
    expect(call).toHaveBeenCalledWith('R1');
    expect(t.current()!.refresh_token).toBe('R1+');
  });

  it('adopts a pair another tab already rotated instead of reusing the old refresh token', async () => {
    const shared = mem();
    const tab1 = new TokenStore(shared, () => 0);
    tab1.set({ access_token: 'A1', refresh_token: 'R1', expires_in: 900 });
    const tab2 = new TokenStore(shared, () => 0);
    await tab1.refresh(async () => ({ access_token: 'A2', refresh_token: 'R2', expires_in: 900 }));
    const call = vi.fn();
    await tab2.refresh(call);
    expect(call).not.toHaveBeenCalled();
    expect(tab2.accessToken()).toBe('A2');
  });

  it('signs out when the refresh token is refused', async () => {
    const t = new TokenStore(mem(), () => 0);
    t.set({ access_token: 'A', refresh_token: 'R', expires_in: 900 });
    await expect(t.refresh(async () => Promise.reject(new ApiError(401, 'invalid_token', 'revoked')))).rejects.toThrow('revoked');
    expect(t.current()).toBeNull();
  });
});

describe('ApiClient', () => {
  it('retries once with a refreshed token after 401 token_expired', async () => {
    const t = new TokenStore(mem(), () => 0);
    t.set({ access_token: 'old', refresh_token: 'R', expires_in: 900 });
    const calls: string[] = [];
    const fetchFn = vi.fn(async (url: string, init?: RequestInit) => {
      const auth = (init?.headers as Record<string, string>)?.Authorization ?? '';
      calls.push(`${init?.method} ${url} ${auth}`);
      if (url.endsWith('/auth/refresh')) return json(200, { access_token: 'new', refresh_token: 'R2', expires_in: 900 });
      if (auth === 'Bearer old') return json(401, { error: { code: 'token_expired', message: 'expired' } });
      return json(200, [{ id: '1' }]);
    });
    const api = new ApiClient(t, fetchFn);
    const out = await api.get<{ id: string }[]>('/guilds');
    expect(out[0].id).toBe('1');
    expect(calls).toEqual(['GET /api/v1/guilds Bearer old', 'POST /api/v1/auth/refresh ', 'GET /api/v1/guilds Bearer new']);
    expect(t.current()!.refresh_token).toBe('R2');
  });

  it('turns error bodies into ApiError with code and field', async () => {
    const t = new TokenStore(mem());
    const api = new ApiClient(t, async () => json(409, { error: { code: 'conflict', message: 'username taken', field: 'username' } }));
    const err = await api.post('/auth/register', { username: 'a', password: 'b' }, { auth: false }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: 'conflict', field: 'username', message: 'username taken' });
  });

  it('does not refresh on other 401 codes', async () => {
    const t = new TokenStore(mem(), () => 0);
    t.set({ access_token: 'x', refresh_token: 'R', expires_in: 900 });
    const fetchFn = vi.fn(async () => json(401, { error: { code: 'invalid_token', message: 'bad' } }));
    const api = new ApiClient(t, fetchFn);
    await expect(api.get('/auth/me')).rejects.toMatchObject({ code: 'invalid_token' });
    expect(fetchFn).toHaveBeenCalledTimes(1);
  });

  it('handles 204 and Retry-After', async () => {
    const t = new TokenStore(mem());
    const api = new ApiClient(t, async () => new Response(null, { status: 204 }));
    expect(await api.delete('/x', { auth: false })).toBeUndefined();
    const api2 = new ApiClient(t, async () => new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'slow' } }), { status: 429, headers: { 'Retry-After': '3' } }));
    await expect(api2.get('/x', { auth: false })).rejects.toMatchObject({ retryAfter: 3 });
  });
});
