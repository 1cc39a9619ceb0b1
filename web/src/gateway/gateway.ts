// The gateway session: hello -> identify (or resume) -> READY/RESUMED, heartbeats with
// zombie detection, and reconnection with exponential backoff. A dropped session is resumed
// with its session_id and the last seq seen, so no event is lost within the resume window;
// an invalid resume (4007) falls back to a fresh identify. In a cluster each dispatch also
// carries the event stream's cursor ("c"): sent with the resume, it lets any node replay what
// was missed when the session's own node is gone. Tokens are refreshed before
// every identify/resume, and once more when the server refuses one (4004).
import { backoffDelay } from './backoff';

export interface Envelope {
  op: string;
  t?: string | null;
  s?: number | null;
  /** Cluster: the event's position in the shared event stream (resume on any node). */
  c?: string;
  d?: unknown;
}

export type GatewayStatus = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(h: unknown): void;
}

export interface GatewayOptions {
  url: string;
  /** A valid access token (refreshed beforehand if close to expiry). */
  getToken: () => Promise<string>;
  /** Forces a refresh after the server refused the token; rejects when signed out. */
  forceRefresh: () => Promise<void>;
  createSocket?: (url: string) => WebSocketLike;
  timers?: Timers;
  random?: () => number;
  maxBackoff?: number;
}

export interface GatewayHandlers {
  dispatch?: (t: string, d: unknown, s: number | null) => void;
  status?: (s: GatewayStatus) => void;
  /** After READY of a new (not resumed) session. */
  ready?: (d: unknown) => void;
  resumed?: (d: unknown) => void;
  error?: (d: { code: string; message: string }) => void;
  authFailed?: () => void;
}

const OPEN = 1;
// Closes after which resuming is pointless: the server forgot or refused the session.
const NO_RESUME = new Set([4003, 4004, 4005, 4007]);

export class GatewayClient {
  private ws: WebSocketLike | null = null;
  private sessionId: string | null = null;
  private seq: number | null = null;
  private cursor: string | null = null;
  private attempt = 0;
  private heartbeatTimer: unknown = null;
  private reconnectTimer: unknown = null;
  private awaitingAck = false;
  private stopped = true;
  private authRetried = false;
  private outbox: Envelope[] = [];
  private status: GatewayStatus = 'idle';
  private readonly timers: Timers;
  private readonly createSocket: (url: string) => WebSocketLike;
  private handlers: GatewayHandlers = {};

  constructor(private readonly opts: GatewayOptions) {
    this.timers = opts.timers ?? {
      setTimeout: (f, ms) => setTimeout(f, ms),
      clearTimeout: (h) => clearTimeout(h as number),
      setInterval: (f, ms) => setInterval(f, ms),
      clearInterval: (h) => clearInterval(h as number),
    };
    this.createSocket = opts.createSocket ?? ((u) => new WebSocket(u) as unknown as WebSocketLike);
  }

  on(h: GatewayHandlers) {
    this.handlers = { ...this.handlers, ...h };
  }

  get state() {
    return {
      status: this.status,
      sessionId: this.sessionId,
      seq: this.seq,
      cursor: this.cursor,
      attempt: this.attempt,
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Ends the session for good (logout, tab close). */
  stop() {
    this.stopped = true;
    this.clearTimers();
    this.sessionId = null;
    this.seq = null;
    this.cursor = null;
    this.outbox = [];
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        /* already closed */
      }
    }
    this.setStatus('closed');
  }

  /**
   * Sends an operation. While disconnected, ops are kept (at most 100) and sent after the
   * next READY/RESUMED, unless `dropIfOffline` (e.g. typing, which would be stale).
   */
  send(op: string, d: unknown, dropIfOffline = false): boolean {
    const env: Envelope = { op, d };
    if (this.ws && this.ws.readyState === OPEN && this.status === 'ready') {
      this.ws.send(JSON.stringify(env));
      return true;
    }
    if (!dropIfOffline) {
      this.outbox.push(env);
      if (this.outbox.length > 100) this.outbox.shift();
    }
    return false;
  }

  /** Closes the socket as if the network dropped it (tests and "reconnect now"). */
  dropConnection() {
    this.ws?.close(4999, 'client reconnect');
  }

  private setStatus(s: GatewayStatus) {
    if (this.status === s) return;
    this.status = s;
    this.handlers.status?.(s);
  }

  private connect() {
    if (this.stopped) return;
    this.setStatus(this.sessionId ? 'reconnecting' : 'connecting');
    let ws: WebSocketLike;
    try {
      ws = this.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      let env: Envelope;
      try {
        env = JSON.parse(String(ev.data)) as Envelope;
      } catch {
        return;
      }
      void this.handle(ws, env);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.onClosed(ev.code);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  private async handle(ws: WebSocketLike, env: Envelope) {
    switch (env.op) {
      case 'hello': {
        const interval = Number((env.d as { heartbeat_interval?: number })?.heartbeat_interval) || 41_250;
        this.startHeartbeat(ws, interval);
        let token: string;
        try {
          token = await this.opts.getToken();
        } catch {
          this.authLost();
          return;
        }
        if (this.ws !== ws) return;
        if (this.sessionId && this.seq !== null) {
          const d: Record<string, unknown> = { token, session_id: this.sessionId, seq: this.seq };
          if (this.cursor) d.cursor = this.cursor;
          ws.send(JSON.stringify({ op: 'resume', d }));
        } else {
          this.sessionId = null;
          this.seq = null;
          this.cursor = null;
          ws.send(JSON.stringify({ op: 'identify', d: { token } }));
        }
        return;
      }
      case 'heartbeat_ack':
        this.awaitingAck = false;
        return;
      case 'heartbeat':
        // The server may ask for an immediate beat.
        ws.send(JSON.stringify({ op: 'heartbeat' }));
        return;
      case 'error':
        this.handlers.error?.(env.d as { code: string; message: string });
        return;
      case 'dispatch': {
        if (typeof env.s === 'number') this.seq = env.s;
        if (typeof env.c === 'string' && env.c) this.cursor = env.c;
        const t = env.t ?? '';
        if (t === 'READY') {
          const d = env.d as { session_id: string };
          this.sessionId = d.session_id;
          this.onSessionUp();
          this.handlers.ready?.(env.d);
        } else if (t === 'RESUMED') {
          this.onSessionUp();
          this.handlers.resumed?.(env.d);
        }
        this.handlers.dispatch?.(t, env.d, env.s ?? null);
        return;
      }
      default:
        return;
    }
  }

  private onSessionUp() {
    this.attempt = 0;
    this.authRetried = false;
    this.setStatus('ready');
    const pending = this.outbox;
    this.outbox = [];
    for (const e of pending) this.ws?.send(JSON.stringify(e));
  }

  private startHeartbeat(ws: WebSocketLike, interval: number) {
    this.stopHeartbeat();
    this.awaitingAck = false;
    const beat = () => {
      if (this.ws !== ws) return;
      if (this.awaitingAck) {
        // No ack since the last beat: the connection is a zombie. Resume on a new one.
        ws.close(4900, 'heartbeat ack missing');
        this.onClosed(4900);
        return;
      }
      this.awaitingAck = true;
      ws.send(JSON.stringify({ op: 'heartbeat' }));
    };
    this.heartbeatTimer = this.timers.setInterval(beat, interval);
  }

  private stopHeartbeat() {
    if (this.heartbeatTimer !== null) this.timers.clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private clearTimers() {
    this.stopHeartbeat();
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private onClosed(code: number) {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
    }
    this.stopHeartbeat();
    if (this.stopped) return;
    if (NO_RESUME.has(code)) {
      this.sessionId = null;
      this.seq = null;
      this.cursor = null;
    }
    if (code === 4004) {
      if (this.authRetried) {
        this.authLost();
        return;
      }
      this.authRetried = true;
      this.setStatus('reconnecting');
      this.opts.forceRefresh().then(
        () => this.connect(),
        () => this.authLost(),
      );
      return;
    }
    if (code === 4007) {
      // The session is gone: identify again at once.
      this.connect();
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect() {
    this.setStatus('reconnecting');
    const delay = backoffDelay(this.attempt, { random: this.opts.random, max: this.opts.maxBackoff });
    this.attempt++;
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private authLost() {
    this.stop();
    this.handlers.authFailed?.();
  }
}
