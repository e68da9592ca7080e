// Helpers for tests/proxy/browser.test.mjs: the browser client (headless
// Chromium, tests/browser/support.mjs) talking through a real nginx
// (tests/support/nginx.mjs) to the echo example, with the test page served by
// the echo server's --static through the same nginx, so that the page, the
// client script (<mount>/polysock.js) and the engine.io mount share one
// origin, as in a real deployment behind a proxy.

import { fileURLToPath } from "node:url";
import { recommendedConfig } from "./nginx.mjs";
import { RECOMMENDED_CONF } from "./proxy-fixture.mjs";

/** The colleague's browser page and helpers (client.html, t.js: window.T). */
export const PAGE_FIXTURES = fileURLToPath(new URL("../browser/fixtures/", import.meta.url));

/** The echo example's flags for a server that also serves the test page. */
export function echoArgsWithPage(extra = []) {
  return ["--path", "/engine.io", "--static", PAGE_FIXTURES, "--test-hooks", ...extra];
}

/**
 * `http {}` contents for sharedProxy(): the recommended config (as tested by
 * tests/proxy/*.test.mjs), plus a plain `location /` that passes the page and
 * its script to the same upstream. The /engine.io location is untouched.
 */
export function recommendedWithPage({ readTimeout } = {}) {
  return (nginxPort, echoPort) => {
    const text = recommendedConfig(RECOMMENDED_CONF, { listenPort: nginxPort, upstreamPort: echoPort, readTimeout });
    const anchor = "server_name _;";
    const n = text.split(anchor).length - 1;
    if (n !== 1) throw new Error(`${RECOMMENDED_CONF}: expected "${anchor}" exactly once, found ${n} times`);
    return text.replace(anchor, `${anchor}\n\n    # added by tests/support/browser-proxy.mjs: the test page\n    location / {\n        proxy_pass http://polysock;\n    }\n`);
  };
}

/**
 * `http {}` contents for sharedProxy(): nginx as a plain reverse proxy, no
 * Upgrade forwarding (its defaults: HTTP/1.0 upstream, no Upgrade/Connection
 * passed on) and response buffering left on; `extra` goes into the server.
 */
export function plainProxyWithPage(extra = "") {
  return (nginxPort, echoPort) => `
    server {
        listen 127.0.0.1:${nginxPort};
        location / {
            proxy_pass http://127.0.0.1:${echoPort};
        }
        ${extra}
    }`;
}
