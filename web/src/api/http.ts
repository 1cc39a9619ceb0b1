// REST client for /api/v1: bearer auth, one shared refresh when the access token expires
// (401 token_expired), and typed errors carrying the API's {code, message, field}.
import type { ApiErrorBody, AuthAnswer } from './types';
import type { TokenStore } from './tokens';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  auth?: boolean;
  keepalive?: boolean;
  signal?: AbortSignal;
}

export class ApiClient {
  constructor(
    private readonly tokens: TokenStore,
    private readonly fetchFn: FetchLike = (i, init) => fetch(i, init),
    readonly base = '/api/v1',
  ) {}

  get<T>(path: string, opts?: RequestOptions) {
    return this.request<T>('GET', path, undefined, opts);
  }
  post<T>(path: string, body?: unknown, opts?: RequestOptions) {
    return this.request<T>('POST', path, body, opts);
  }
  patch<T>(path: string, body?: unknown, opts?: RequestOptions) {
    return this.request<T>('PATCH', path, body, opts);
  }
  put<T>(path: string, body?: unknown, opts?: RequestOptions) {
    return this.request<T>('PUT', path, body, opts);
  }
  delete<T>(path: string, opts?: RequestOptions) {
    return this.request<T>('DELETE', path, undefined, opts);
  }

  async request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const auth = opts.auth ?? true;
    if (auth) await this.tokens.ensureFresh((rt) => this.refreshCall(rt));
    let res = await this.send(method, path, body, auth, opts);
    if (auth && res.status === 401) {
      const err = await readError(res);
      if (err.code !== 'token_expired') throw err;
      await this.tokens.refresh((rt) => this.refreshCall(rt));
      res = await this.send(method, path, body, auth, opts);
    }
    if (!res.ok) throw await readError(res);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private send(method: string, path: string, body: unknown, auth: boolean, opts: RequestOptions) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const token = this.tokens.accessToken();
    if (auth && token) headers.Authorization = `Bearer ${token}`;
    return this.fetchFn(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive: opts.keepalive,
      signal: opts.signal,
    });
  }

  /** POST /auth/refresh without the bearer header; the caller stores the rotated pair. */
  private async refreshCall(refreshToken: string): Promise<AuthAnswer> {
    const res = await this.send('POST', '/auth/refresh', { refresh_token: refreshToken }, false, {});
    if (!res.ok) throw await readError(res);
    return (await res.json()) as AuthAnswer;
  }
}

export async function readError(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = res.statusText || 'Request failed';
  let field: string | undefined;
  try {
    const body = (await res.json()) as Partial<ApiErrorBody>;
    if (body && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      field = body.error.field ?? undefined;
    }
  } catch {
    /* not JSON: keep the status text */
  }
  const ra = res.headers.get('Retry-After');
  return new ApiError(res.status, code, message, field, ra ? Number(ra) : undefined);
}
