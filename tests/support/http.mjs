// Raw HTTP for wire-level checks: node:http with no agent (no pooled
// connections left behind), every request with a deadline.

import http from "node:http";

/**
 * One HTTP request. `url` is absolute; `body` a string or Buffer.
 * Resolves with `{ status, headers, body: Buffer, text }` when the response
 * ended; rejects after `ms`.
 */
export function request(url, { method = "GET", body, headers = {}, ms = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${url}: no complete response within ${ms} ms`));
    }, ms);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on("end", () => {
        clearTimeout(timer);
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text: buf.toString("utf8") });
      });
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/**
 * Open a long response (a streaming GET) and hand out what arrives while it
 * is still open. `stream.text` is everything received so far;
 * `stream.waitFor(pred, ms)` resolves once `pred(text)` is truthy (with its
 * value), rejecting if the response ends or errors first or after `ms`.
 */
export function openStream(url, { headers = {}, ms = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "GET", headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy(new Error(`GET ${url}: no response head within ${ms} ms`));
    }, ms);
    req.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on("response", (res) => {
      clearTimeout(timer);
      const stream = new StreamReader(req, res);
      resolve(stream);
    });
    req.end();
  });
}

class StreamReader {
  constructor(req, res) {
    this.req = req;
    this.res = res;
    this.status = res.statusCode;
    this.headers = res.headers;
    this.chunks = [];
    this.text = "";
    this.ended = false;
    this.error = null;
    this.listeners = new Set();
    res.setEncoding("utf8");
    res.on("data", (c) => {
      this.chunks.push({ at: Date.now(), length: c.length });
      this.text += c;
      this.notify();
    });
    res.on("end", () => {
      this.ended = true;
      this.notify();
    });
    res.on("error", (err) => {
      this.error = err;
      this.notify();
    });
    res.on("close", () => {
      if (!this.ended && !this.error) this.error = new Error("response closed before its end");
      this.notify();
    });
  }

  notify() {
    for (const fn of [...this.listeners]) fn();
  }

  /** Resolve with `pred(text)` once truthy; reject if the response finishes first or after `ms`. */
  waitFor(pred, ms = 5000, what = "stream content") {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try {
          v = pred(this.text);
        } catch (err) {
          done();
          return reject(err);
        }
        if (v) {
          done();
          return resolve(v);
        }
        if (this.ended || this.error) {
          done();
          const why = this.error ? this.error.message : "response ended";
          reject(new Error(`waiting for ${what}: ${why}; got ${JSON.stringify(this.text.slice(-300))}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waiting for ${what}: timed out after ${ms} ms; got ${JSON.stringify(this.text.slice(-300))}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolve when the response ended (rejects on error or after `ms`). */
  waitEnd(ms = 5000) {
    return this.waitFor(() => this.ended, ms, "the end of the response");
  }

  /** Abort the request (closing the connection). */
  abort() {
    this.req.destroy();
  }
}

/** Parse an `{"code":N,"message":"..."}` error body, or throw with the body shown. */
export function errorBody(res) {
  try {
    return JSON.parse(res.text);
  } catch {
    throw new Error(`error body is not JSON: status ${res.status}, body ${JSON.stringify(res.text)}`);
  }
}
