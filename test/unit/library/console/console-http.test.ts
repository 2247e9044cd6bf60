import { describe, expect, it } from 'vitest';
import { ASSETS } from '../../../../lib/ops/console/static-assets';
import { call, consoleForEachTest, ddb, fakeStack, serveConsole, sqs } from './support/console-fixture';

describe('the console over HTTP: its own page only, on 127.0.0.1 only', () => {
  const current = consoleForEachTest();

  it('serves its page and every asset itself, under a policy that loads nothing from elsewhere', async () => {
    // WHEN each asset is asked for
    for (const path of Object.keys(ASSETS)) {
      const answer = await call(current.running, 'GET', path);
      // THEN it is there, typed, with the security headers and no CORS header
      expect(answer.status, path).toBe(200);
      expect(answer.headers['content-type']).toMatch(/^(text\/(html|css|javascript)|image\/svg\+xml)/);
      expect(answer.headers['content-security-policy']).toContain("default-src 'none'");
      expect(answer.headers['content-security-policy']).toContain("script-src 'self'");
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
    // AND the page names only local files: no URL with a host in it
    const page = await call(current.running, 'GET', '/');
    expect(page.text).toContain('<script type="module" src="/console.js">');
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("has no run reports in the package's console: /api/console lists no extra read, /api/reports is 404", async () => {
    // GIVEN the console as the shipped CLI starts it (no extra reads)
    const shipped = await serveConsole(fakeStack(), { reports: null });
    try {
      // THEN the page is told there is nothing more to show, and the route does not exist
      expect((await call(shipped, 'GET', '/api/console')).body).toMatchObject({ extraReads: [] });
      expect((await call(shipped, 'GET', '/api/reports')).status).toBe(404);
    } finally {
      await shipped.close();
    }
  });

  it('binds to 127.0.0.1 and prints a URL of it', () => {
    expect(current.running.url).toBe(`http://127.0.0.1:${current.running.port}/`);
    expect(current.running.port).toBeGreaterThan(0);
  });

  it.each([
    ['another name (DNS rebinding)', 'evil.example'],
    ['another name on the same port', 'evil.example:PORT'],
    ['localhost', 'localhost:PORT'],
    ['another port', '127.0.0.1:1'],
  ])('fails with 403 for a request whose Host is %s, page and API alike', async (_case, host) => {
    const headers = { host: host.replace('PORT', String(current.running.port)) };
    for (const path of ['/', '/api/status', '/api/repairs']) {
      const answer = await call(current.running, 'GET', path, { headers });
      expect(answer.status, path).toBe(403);
      expect(answer.body).toEqual({
        error: expect.stringContaining(`is not this console's 127.0.0.1:${current.running.port}`),
      });
    }
    // AND the stack was not read
    expect(ddb.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it('answers no CORS preflight and no path outside its assets', async () => {
    const preflight = await call(current.running, 'OPTIONS', '/api/repairs/replay', {
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(405);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    for (const path of ['/../package.json', '/static/console.js', '/server.ts', '/%2e%2e/package.json']) {
      expect((await call(current.running, 'GET', path)).status, path).toBe(404);
    }
  });
});
