// Small promise helpers shared by the JS tests. Every wait has a deadline:
// nothing in the suites may hang on a missing event.

/** Resolve with `promise`, or reject with `Error(what + " timed out")` after `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Wait for one `event` on an emitter (engine.io-client Socket, ChildProcess,
 * http.IncomingMessage...). Resolves with the event's arguments as an array.
 * Rejects after `ms`, or at once when `failOn` (an event name, or a list)
 * fires first.
 */
export function once(emitter, event, ms, { failOn = [] } = {}) {
  const failures = Array.isArray(failOn) ? failOn : [failOn];
  let cleanup = () => {};
  const p = new Promise((resolve, reject) => {
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const onFail = failures.map((name) => {
      const fn = (...args) => {
        cleanup();
        const detail = args.map(describe).join(", ");
        reject(new Error(`"${name}" (${detail}) before "${event}"`));
      };
      return [name, fn];
    });
    cleanup = () => {
      off(emitter, event, onEvent);
      for (const [name, fn] of onFail) off(emitter, name, fn);
    };
    emitter.on(event, onEvent);
    for (const [name, fn] of onFail) emitter.on(name, fn);
  });
  return withTimeout(p, ms, `waiting for "${event}"`).finally(() => cleanup());
}

function off(emitter, event, fn) {
  if (typeof emitter.off === "function") emitter.off(event, fn);
  else emitter.removeListener(event, fn);
}

/** A readable one-line description of an event argument, for error messages. */
export function describe(value) {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (Buffer.isBuffer(value)) return `<Buffer ${value.toString("hex")}>`;
  if (value && typeof value === "object") {
    try {
      const seen = new WeakSet();
      return JSON.stringify(value, (k, v) => {
        if (v && typeof v === "object") {
          if (seen.has(v)) return "[circular]";
          seen.add(v);
        }
        if (k === "target" || k === "_socket" || k === "socket") return "[omitted]";
        return v;
      });
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * Poll `check` (sync or async) until it returns a value other than undefined,
 * every `everyMs`, for at most `ms`. For state that only settles eventually on
 * the other side (a session the server has not reaped yet), never as a
 * substitute for an event that could be awaited instead.
 */
export async function eventually(check, ms, what, everyMs = 25) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last !== undefined) return last;
    if (Date.now() >= end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolve after `ms`. Only for "nothing must happen during this time" checks. */
export function idle(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
