// Helpers shared by the browser end-to-end tests: a server on a free
// loopback port with its own data directory, the thinx command line,
// a headless Chromium, listeners that collect CSP violations and page
// errors, screenshots and steps that run in order.
//
// Environment:
//   THINX_BIN        server binary to test (default: built from this tree)
//   CHROMIUM         browser executable (default: /usr/bin/chromium)
//   E2E_SCREENSHOTS  folder for the screenshots

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const shotsDir = path.resolve(process.env.E2E_SCREENSHOTS || path.join(here, 'screenshots'));

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 800 };

// ---------------------------------------------------------------- server

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// The binary under test: THINX_BIN, or one built from this tree into dir.
export function serverBinary(dir) {
  if (process.env.THINX_BIN) return path.resolve(process.env.THINX_BIN);
  const bin = path.join(dir, 'thinx');
  const r = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: repoRoot,
    env: { ...process.env, CGO_ENABLED: '0' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`go build failed:\n${r.stderr || r.error}`);
  return bin;
}

// The server reads THINX_* variables as flag defaults; keep a developer's
// own settings (SMTP, public URL, …) out of the test.
export function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('THINX_')) env[k] = v;
  return env;
}

// Runs a thinx command to its end and returns its trimmed output.
export function thinx(bin, args, input) {
  const r = spawnSync(bin, args, { env: cleanEnv(), input, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`thinx ${args[0]} failed (${r.status ?? r.error}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

const running = new Set();
// Never leave a server behind, whatever happens to the test process.
process.on('exit', () => {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

// Starts `thinx serve` on a free loopback port with the data directory
// dataDir and waits until it is healthy. With mqtt, the broker listens on
// another free loopback port. Returns { base, mqttPort, log(), stop() }.
export async function startServer({ bin, dataDir, mqtt = false }) {
  const port = await freePort();
  const mqttPort = mqtt ? await freePort() : null;
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(bin, ['serve', '--data', dataDir, '--http', `127.0.0.1:${port}`, '--https', 'off',
    '--mqtt', mqtt ? `127.0.0.1:${mqttPort}` : 'off', '--mqtts', 'off', '--mqtt-ws', 'off'], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let log = '';
  const collect = (d) => { log += d.toString(); };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve(`${code ?? sig}`)));

  const server = {
    base,
    mqttPort,
    log: () => log,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
      running.delete(proc);
    },
  };

  // Poll the health endpoint until it answers, the process dies, or 30 s pass.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await Promise.race([
      exited.then((c) => `exited:${c}`),
      fetch(`${base}/healthz`).then((r) => (r.ok ? 'up' : 'down'), () => 'down'),
    ]);
    if (state === 'up') return server;
    if (state.startsWith('exited')) throw new Error(`server ${state}\n${log}`);
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`server did not become healthy\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------- browser

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// Collects what pages report: CSP violations and uncaught errors fail a
// step, other console errors are printed at the end; confirm() dialogs are
// accepted and their messages kept.
export function watcher() {
  const w = {
    cspViolations: [],
    pageErrors: [],
    consoleErrors: [],
    dialogs: [],
    watch(p, label) {
      p.on('console', (msg) => {
        if (msg.type() !== 'error' && msg.type() !== 'warning') return;
        const text = msg.text();
        if (/Content[- ]Security[- ]Policy|Refused to (execute|apply|load|connect|frame)/i.test(text)) {
          w.cspViolations.push(`${label} ${p.url()}: ${text}`);
        } else if (msg.type() === 'error') {
          w.consoleErrors.push(`${label} ${p.url()}: ${text}`);
        }
      });
      p.on('pageerror', (err) => w.pageErrors.push(`${label} ${p.url()}: ${err.message}`));
      p.on('dialog', async (d) => {
        w.dialogs.push(d.message());
        await d.accept();
      });
      p.setDefaultTimeout(10_000);
    },
  };
  return w;
}

// Full-page screenshots named PREFIX + NN-name.png in the screenshots
// folder. clean() removes only this prefix's earlier screenshots, so
// several test files can share the folder.
export function screenshots(prefix, defaultPage) {
  let n = 0;
  const mine = new RegExp(`^${prefix}\\d\\d-[a-z0-9-]+\\.png$`);
  return {
    dir: shotsDir,
    clean() {
      mkdirSync(shotsDir, { recursive: true });
      for (const f of readdirSync(shotsDir)) if (mine.test(f)) rmSync(path.join(shotsDir, f));
    },
    async shot(name, p = defaultPage()) {
      n += 1;
      const file = path.join(shotsDir, `${prefix}${String(n).padStart(2, '0')}-${name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
  };
}

// A regular expression matching s exactly, give or take surrounding space.
export function exact(s) {
  return new RegExp(`^\\s*${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

// Page helpers; each acts on the page given last, or on defaultPage().
export function pageHelpers(defaultPage) {
  const h = {
    pathOf(p = defaultPage()) {
      return new URL(p.url()).pathname;
    },
    // Waits for the page to show PATH with an <h1> reading HEADING. Boosted
    // links and forms change the URL with the history API, so the heading
    // is what proves the new content has been swapped in.
    async arrive(pathname, heading, p = defaultPage()) {
      await p.waitForURL((u) => u.pathname === pathname);
      await p.locator('h1', { hasText: heading instanceof RegExp ? heading : exact(heading) }).waitFor();
    },
    async flashText(p = defaultPage()) {
      const f = p.locator('.flash').first();
      await f.waitFor();
      return (await f.textContent()).trim();
    },
    async clickNav(label, p = defaultPage()) {
      await p.locator('nav.nav ul a', { hasText: exact(label) }).click();
    },
    async hasHorizontalScroll(p = defaultPage()) {
      return p.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
    },
  };
  return h;
}

// Steps share one browser session and run in order; once one fails, the
// rest are skipped instead of failing for the same reason. Every step
// fails on CSP violations and uncaught page errors.
export function stepper({ watcher: w, onFail, timeout = 30_000 }) {
  const state = { failed: null };
  state.step = (name, fn) => {
    it(name, { timeout }, async (t) => {
      if (state.failed) {
        t.skip(`after failure of "${state.failed}"`);
        return;
      }
      try {
        await fn(t);
        assert.deepEqual(w.cspViolations, [], 'Content-Security-Policy violations');
        assert.deepEqual(w.pageErrors, [], 'uncaught errors in the page');
      } catch (err) {
        state.failed = name;
        await onFail?.().catch(() => {});
        throw err;
      }
    });
  };
  return state;
}
