// Type declarations for the Polysock browser client (client-js/dist/polysock.js).
// A WebSocket-shaped connection over websocket, xhr-streaming, htmlfile or polling.

declare namespace Polysock {
  type TransportName = 'websocket' | 'xhr-streaming' | 'htmlfile' | 'polling';

  interface Options {
    /** Transports to use, best first. Default: all four in this order. */
    transports?: TransportName[];
    /** Milliseconds each transport gets to deliver its open packet before the
     *  next is tried (the last one gets 4x); also the upgrade probe's bound.
     *  Default 2500. */
    timeout?: number;
    /** Remember the transport that worked (localStorage, else sessionStorage)
     *  and start with it next time. Default true. */
    remember?: boolean;
    /** Test seam: replacements for setTimeout, clearTimeout, WebSocket,
     *  XMLHttpRequest, ActiveXObject, Blob, document, location, window, storage. */
    env?: { [name: string]: any };
  }

  interface MessageEvent {
    type: 'message';
    target: Polysock;
    /** string, or ArrayBuffer / Blob (per binaryType) for binary messages. */
    data: string | ArrayBuffer | Blob;
    origin: string;
  }

  interface CloseEvent {
    type: 'close';
    target: Polysock;
    code: number;
    reason: string;
    wasClean: boolean;
  }

  interface Event {
    type: 'open' | 'error';
    target: Polysock;
  }

  interface EventMap {
    open: Event;
    error: Event;
    message: MessageEvent;
    close: CloseEvent;
  }
}

declare class Polysock {
  /**
   * @param url the server's mount point, `http(s)://host:port/path` (a path
   *   starting with `/` is taken relative to the page; ws(s): is accepted).
   * @param protocols requested subprotocols, in preference order.
   */
  constructor(url: string, protocols?: string | string[], options?: Polysock.Options);
  constructor(url: string, options?: Polysock.Options);

  static readonly CONNECTING: 0;
  static readonly OPEN: 1;
  static readonly CLOSING: 2;
  static readonly CLOSED: 3;
  static readonly version: string;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;

  readonly url: string;
  readonly readyState: 0 | 1 | 2 | 3;
  /** The negotiated subprotocol ("" if none). */
  readonly protocol: string;
  readonly extensions: string;
  /** Bytes of application data queued but not yet handed to the network. */
  readonly bufferedAmount: number;
  /** "blob" (default where Blob exists) or "arraybuffer". */
  binaryType: 'blob' | 'arraybuffer';
  /** The transport in use, or null before open; changes on upgrade. */
  readonly transport: Polysock.TransportName | null;

  onopen: ((this: Polysock, ev: Polysock.Event) => any) | null;
  onmessage: ((this: Polysock, ev: Polysock.MessageEvent) => any) | null;
  onerror: ((this: Polysock, ev: Polysock.Event) => any) | null;
  onclose: ((this: Polysock, ev: Polysock.CloseEvent) => any) | null;

  /** Throws InvalidStateError while CONNECTING. Blob is not supported. */
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  /** code: 1000 or 3000-4999 (else InvalidAccessError); reason: at most 123
   *  UTF-8 bytes (else SyntaxError). */
  close(code?: number, reason?: string): void;

  addEventListener<K extends keyof Polysock.EventMap>(type: K,
    listener: ((this: Polysock, ev: Polysock.EventMap[K]) => any) | { handleEvent(ev: Polysock.EventMap[K]): any }): void;
  removeEventListener<K extends keyof Polysock.EventMap>(type: K, listener: any): void;
  dispatchEvent(ev: { type: string }): boolean;
}

export = Polysock;
export as namespace Polysock;
