// Issue 3: a minimal hand-written page (fixtures/stream-min.html, not the
// Polysock client) receives messages over xhr-streaming and htmlfile while
// the response is still open, i.e. incrementally, not at the response's end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './support.mjs';

let srv, browser;
before(async () => { [srv, browser] = await Promise.all([startServer(), launchBrowser()]); });
after(async () => { await browser?.close(); await srv?.stop(); });

for (const [name, fn] of [['xhr-streaming', 'xhrStreaming'], ['htmlfile', 'htmlfile']]) {
  test(`${name}: each echo arrives while its response is still open`, async () => {
    const page = await openPage(browser, srv, { page: 'stream-min.html' });
    try {
      const log = await page.evaluate(`${fn}(5)`);
      assert.equal(log[0].packet.charAt(0), '0', 'the open packet comes first on the stream');
      assert.ok(log[0].open);
      const echoes = log.filter((l) => l.packet.charAt(0) === '4');
      assert.deepEqual(echoes.map((l) => l.packet), [0, 1, 2, 3, 4].map((i) => '4hello ' + i));
      for (const e of echoes) assert.ok(e.open, `"${e.packet}" arrived after its response ended`);
      assert.deepEqual(page.errors.map(String), []);
    } finally {
      await page.close();
    }
  });
}
