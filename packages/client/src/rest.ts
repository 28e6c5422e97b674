import type { ErrorCode, HistoryPage } from '@parley/protocol';

/** A refused request: a protocol error code, or one of the client's own. */
export class ParleyRequestError extends Error {
  constructor(
    readonly code: ErrorCode | 'QUEUE_FULL' | 'CLIENT_CLOSED' | 'HTTP_ERROR',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ParleyRequestError';
  }
}

type FetchInit = { method?: string; headers: Record<string, string>; body?: string | FormData };

/**
 * The client's REST half: every call carries the latest token, and one refused as expired is tried
 * once more with a fresh one from the token function. The socket asks it for tokens too, so that
 * both use the newest.
 */
export class RestApi {
  private latestToken: string | undefined;

  constructor(
    /** Base URL of the REST API. */
    private readonly baseUrl: () => string,
    private readonly token: string | (() => string | Promise<string>),
  ) {}

  /** A token from the token option (the function is called), kept for REST calls until it is refused as expired. */
  async freshToken(): Promise<string> {
    this.latestToken = typeof this.token === 'function' ? await this.token() : this.token;
    return this.latestToken;
  }

  /** A JSON call; rejects with ParleyRequestError on an error status. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.fetchJson<T>(path, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  }

  /** A call through `fetchAuthorized` whose answer is JSON; rejects with ParleyRequestError on an error status. */
  async fetchJson<T>(path: string, init: FetchInit & { method: string }): Promise<T> {
    const res = await this.fetchAuthorized(path, init);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Fetches with the latest token; an answer of AUTH_TOKEN_EXPIRED asks the token function for a
   * fresh one and tries once more. An error status rejects with its code.
   */
  async fetchAuthorized(path: string, init: FetchInit): Promise<Response> {
    const attempt = async (token: string) => fetch(this.baseUrl() + path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
    let res = await attempt(this.latestToken ?? (await this.freshToken()));
    let err = res.ok ? undefined : ((await res.json().catch(() => undefined)) as { code?: ErrorCode; message?: string } | undefined);
    if (res.status === 401 && err?.code === 'AUTH_TOKEN_EXPIRED' && typeof this.token === 'function') {
      res = await attempt(await this.freshToken());
      err = res.ok ? undefined : ((await res.json().catch(() => undefined)) as typeof err);
    }
    if (!res.ok) throw new ParleyRequestError(err?.code ?? 'HTTP_ERROR', err?.message ?? `HTTP ${res.status}`, res.status);
    return res;
  }

  /** One page of a room's history (newest first): before a seq, or after one. */
  history(chatId: number, page: { before?: number; after?: number; limit?: number } = {}): Promise<HistoryPage> {
    const query = new URLSearchParams(
      Object.entries(page)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
    return this.request<HistoryPage>('GET', `/api/chats/${chatId}/messages${query.size ? `?${query}` : ''}`);
  }
}
