// Type declarations for the Polysock browser client (the npm package
// polysock-client: dist/polysock.js as UMD/CommonJS, dist/polysock.mjs as an
// ES module). A WebSocket-shaped connection over websocket, xhr-streaming,
// htmlfile or polling. protocol-spec/client-api.md is the reference.

declare namespace Polysock {
  type TransportName = 'websocket' | 'xhr-streaming' | 'htmlfile' | 'polling';

  interface Options {
    /** Transports to use, best first. Default: all four in this order. */
    transports?: TransportName[];
    /** Milliseconds each transport gets, from its start, to deliver its open
     *  packet before the next is tried (the last one gets 4x); also the
     *  upgrade probe's bound. Default 2500. */
    timeout?: number;
    /** Remember the transport that worked (localStorage) and start with it
     *  next time. Default true. */
    remember?: boolean;
    /** Ask for a resume session (ext=1&resume=1): a lost transport does not
     *  close the socket, which stays OPEN and resumes in the background
     *  with nothing lost. Default true; false gives plain WebSocket
     *  semantics (a loss closes 1006). Servers without resume ignore it. */
    resume?: boolean;
    /** Bytes of messages a resume session keeps until the server has
     *  acknowledged them; past it the socket closes (1006, "send buffer
     *  overflowed"). Default 67108864 (64 MiB); one larger message passes when nothing else is kept. */
    resumeBuffer?: number;
    /** After a close that close() did not ask for, open a new session:
     *  readyState goes back to CONNECTING and open fires again. true: at
     *  most 10 tries in a row, a number: at most that many. Default off. */
    reconnect?: boolean | number;
    /** Test seam: an object standing in for the page's global (setTimeout,
     *  clearTimeout, WebSocket, XMLHttpRequest, ActiveXObject, Blob, document,
     *  location, window, localStorage, wsQueues). */
    env?: { [name: string]: any };
  }

  /** What the socket's events carry: native Event objects where the browser
   *  can construct them, plain objects with the same fields elsewhere. */
  interface Event {
    readonly type: string;
    readonly target: Polysock | null;
    readonly currentTarget: Polysock | null;
    preventDefault?(): void;
    stopImmediatePropagation?(): void;
  }

  interface MessageEvent extends Event {
    readonly type: 'message';
    /** string, or ArrayBuffer / Blob (per binaryType) for binary messages. */
    readonly data: string | ArrayBuffer | Blob;
    /** The origin of the socket's url (ws: or wss:). */
    readonly origin: string;
  }

  interface CloseEvent extends Event {
    readonly type: 'close';
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
  }

  interface EventMap {
    open: Event;
    error: Event;
    message: MessageEvent;
    close: CloseEvent;
  }

  interface ListenerOptions {
    capture?: boolean;
    once?: boolean;
    passive?: boolean;
    signal?: unknown;
  }

  type Listener<E> = ((this: Polysock, ev: E) => any) | { handleEvent(ev: E): any };

  /** A transport constructor, as listed in Polysock.transports. */
  interface TransportClass {
    readonly prototype: { readonly name: TransportName };
  }
}

declare class Polysock {
  /**
   * @param url the server's mount point, resolved against the page as
   *   WebSocket does: `http(s):`, `ws(s):` or relative; a fragment is a
   *   SyntaxError.
   * @param protocols requested subprotocols, in preference order.
   */
  constructor(url: string | { toString(): string }, protocols?: string | string[], options?: Polysock.Options);
  constructor(url: string | { toString(): string }, options?: Polysock.Options);

  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  static readonly version: string;
  /** Every transport (npm builds); the served script has websocket alone until it has loaded `<mount>/polysock-http.js`. */
  static readonly transports: { readonly [name in Polysock.TransportName]?: Polysock.TransportClass };
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  /** The resolved URL, ws: or wss: (`new Polysock("http://h/p").url` is "ws://h/p"). */
  readonly url: string;
  readonly readyState: 0 | 1 | 2 | 3;
  /** The negotiated subprotocol ("" if none). */
  readonly protocol: string;
  readonly extensions: string;
  /** Bytes of application data accepted by send() and not yet handed to
   *  the network. */
  readonly bufferedAmount: number;
  /** "blob" (default where Blob exists) or "arraybuffer"; other values are
   *  ignored. */
  binaryType: 'blob' | 'arraybuffer';
  /** The transport in use, or null before open; changes on upgrade. */
  readonly transport: Polysock.TransportName | null;

  onopen: ((this: Polysock, ev: Polysock.Event) => any) | null;
  onmessage: ((this: Polysock, ev: Polysock.MessageEvent) => any) | null;
  onerror: ((this: Polysock, ev: Polysock.Event) => any) | null;
  onclose: ((this: Polysock, ev: Polysock.CloseEvent) => any) | null;

  /** Throws InvalidStateError while CONNECTING. Blob is not supported
   *  (TypeError). */
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  /** code: 1000 or 3000-4999 (else InvalidAccessError); reason: at most 123
   *  UTF-8 bytes (else SyntaxError). */
  close(code?: number, reason?: string): void;

  addEventListener<K extends keyof Polysock.EventMap>(type: K,
    listener: Polysock.Listener<Polysock.EventMap[K]>, options?: boolean | Polysock.ListenerOptions): void;
  addEventListener(type: string, listener: Polysock.Listener<Polysock.Event>,
    options?: boolean | Polysock.ListenerOptions): void;
  removeEventListener<K extends keyof Polysock.EventMap>(type: K,
    listener: Polysock.Listener<Polysock.EventMap[K]>, options?: boolean | { capture?: boolean }): void;
  removeEventListener(type: string, listener: Polysock.Listener<Polysock.Event>,
    options?: boolean | { capture?: boolean }): void;
  /** Returns false when a listener called preventDefault() on a cancelable event. */
  dispatchEvent(ev: { readonly type: string }): boolean;
}

export = Polysock;
export as namespace Polysock;
