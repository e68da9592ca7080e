// An echo server with a real nginx in front of it, shared by the tests of a
// `describe` block (node:test before/after hooks). On a failing test both
// the server's stderr and nginx's config and logs go to our stderr.

import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startEchoServer } from "./echo-server.mjs";
import { recommendedConfig, startNginx } from "./nginx.mjs";

export const RECOMMENDED_CONF = fileURLToPath(new URL("../proxy/nginx-recommended.conf", import.meta.url));

/**
 * `echoArgs`: the echo example's flags. `httpBlock(nginxPort, echoPort)`:
 * the nginx `http {}` contents. Returns `{ echo, nginx, test }`, `test(name,
 * [options], fn(t, { echo, nginx }))`.
 */
export function sharedProxy(echoArgs, httpBlock) {
  const fx = { echo: null, nginx: null, test: null };
  before(async () => {
    fx.echo = await startEchoServer(echoArgs);
    try {
      fx.nginx = await startNginx((port) => httpBlock(port, fx.echo.port));
    } catch (err) {
      await fx.echo.stop();
      fx.echo = null;
      throw err;
    }
  });
  after(async () => {
    if (fx.nginx) await fx.nginx.stop();
    if (fx.echo) await fx.echo.stop();
  });
  fx.test = (name, options, fn) => {
    if (typeof options === "function") [fn, options] = [options, {}];
    return test(name, options, async (t) => {
      if (!fx.echo || !fx.nginx) throw new Error("fixture did not start");
      const mark = fx.echo.mark();
      try {
        await fn(t, fx);
        if (!fx.echo.alive()) throw new Error("echo server exited during the test");
        if (!fx.nginx.alive()) throw new Error("nginx exited during the test");
      } catch (err) {
        fx.echo.dumpStderr(`test "${name}" failed: ${err && err.message}`, mark);
        fx.nginx.dump(`test "${name}" failed`);
        throw err;
      }
    });
  };
  return fx;
}

/** `http {}` contents: the recommended config pointed at the echo server. */
export function recommended({ readTimeout } = {}) {
  return (nginxPort, echoPort) =>
    recommendedConfig(RECOMMENDED_CONF, { listenPort: nginxPort, upstreamPort: echoPort, readTimeout });
}
