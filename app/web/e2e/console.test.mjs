// End-to-end walk through the thinx console in headless Chromium.
//
// Starts the server on a free loopback port with a fresh data directory,
// then uses the console as a person would: first-run setup, log in and out,
// API keys, audit log, profile, admin invitation, every navigation section
// and a phone-sized viewport. Screenshots of every page go to
// E2E_SCREENSHOTS (default: e2e/screenshots/).
//
// Environment:
//   THINX_BIN        server binary to test (default: built from this tree)
//   CHROMIUM         browser executable (default: /usr/bin/chromium)
//   E2E_SCREENSHOTS  folder for the screenshots
//
// Run: node --test e2e/   (or e2e/run.sh, which also installs and builds)

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DESKTOP, PHONE, exact, launchBrowser, pageHelpers, screenshots, serverBinary, startServer, stepper, watcher,
} from './lib.mjs';

const HTMX_VERSION = '2.0.11';

const admin = { name: 'Ada Admin', email: 'ada@example.com', password: 'correct horse battery staple' };
const invitee = { name: 'Grace Maker', email: 'grace@example.com', password: 'a long enough passphrase' };

// What each not-yet-built section explains while it is empty.
const emptySections = {
  '/': ['Dashboard', 'Counters and 30-day charts'],
  '/devices': ['Devices', 'after their first check-in'],
  '/sources': ['Sources', 'Git repositories you attach'],
  '/builds': ['Builds', 'with their logs and firmware artifacts'],
  '/rollouts': ['Rollouts', 'Staged over-the-air updates'],
  '/transformers': ['Transformers', 'Status transformers'],
  '/environment': ['Environment', 'Environment variables injected'],
};
const otherSections = {
  '/mqtt': 'MQTT',
  '/keys': 'API keys',
  '/audit': 'Audit log',
  '/profile': 'Profile',
  '/admin': 'Admin',
};

// ---------------------------------------------------------------- session

let workDir; // temp folder: data dir and, when built here, the binary
let server; // { base, log(), stop() }
let base; // http://127.0.0.1:PORT
let browser;
let context;
let page;
const w = watcher();
const { cspViolations, pageErrors, consoleErrors, dialogs } = w;
const watch = (p, label) => w.watch(p, label);
const shots = screenshots('', () => page);
const shot = shots.shot;
const { arrive, flashText, clickNav, hasHorizontalScroll, pathOf } = pageHelpers(() => page);

// ---------------------------------------------------------------- steps

// Steps share one browser session and run in order; once one fails, the
// rest are skipped instead of failing for the same reason.
const steps = stepper({ watcher: w, onFail: () => shot('failed') });
const step = steps.step;

describe('thinx console in a browser', () => {
  before(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'thinx-e2e-'));
    // Only this test's own earlier screenshots are removed.
    shots.clean();
    server = await startServer({ bin: serverBinary(workDir), dataDir: path.join(workDir, 'data') });
    base = server.base;
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await context.newPage();
    watch(page, '[admin]');
  }, { timeout: 300_000 });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.stop();
      if (steps.failed && server) console.log(`--- server log ---\n${server.log().slice(-8000)}`);
      if (consoleErrors.length) console.log(`console errors (not failing):\n  ${consoleErrors.join('\n  ')}`);
      if (workDir) rmSync(workDir, { recursive: true, force: true });
      console.log(`screenshots: ${shots.dir}`);
    }
  });

  step('a fresh install sends the first visitor to setup', async () => {
    await page.goto(`${base}/keys`);
    await arrive('/setup', 'Welcome');
    await shot('setup');
    await page.setViewportSize(PHONE);
    assert.equal(await hasHorizontalScroll(), false, 'setup page scrolls sideways on a phone');
    await shot('phone-setup');
    await page.setViewportSize(DESKTOP);
  });

  step('htmx is loaded from the server and CSP blocks inline script', async () => {
    await page.waitForFunction(() => window.htmx !== undefined);
    assert.equal(await page.evaluate(() => window.htmx.version), HTMX_VERSION);
    const csp = (await page.request.get(`${base}/setup`)).headers()['content-security-policy'] || '';
    assert.match(csp, /script-src 'self'/);
    // An injected inline script must be refused, and the refusal must reach
    // the listener that every other step relies on.
    const seen = page.waitForEvent('console', (m) => /Content Security Policy/i.test(m.text()));
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true';
      document.head.appendChild(s);
    });
    await seen;
    assert.equal(await page.evaluate(() => window.__inlineRan), undefined, 'inline script ran despite CSP');
    assert.equal(cspViolations.length, 1, 'the injected script was not reported as a CSP violation');
    cspViolations.length = 0;
  });

  step('setup creates the administrator and logs them in', async () => {
    await page.getByLabel('Name').fill(admin.name);
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel(/^Password\b/).fill(admin.password);
    await page.getByLabel('Repeat password').fill(admin.password);
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await arrive('/', 'Dashboard');
    assert.match(await flashText(), /administrator account is ready/);
    assert.equal((await page.locator('nav .who').innerText()).split('\n')[0].trim(), admin.name);
    await shot('dashboard-welcome');
  });

  step('log out', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await arrive('/login', 'Log in');
    assert.match(await flashText(), /logged out/);
    await page.goto(`${base}/audit`);
    await arrive('/login', 'Log in');
  });

  step('a wrong password shows an error and stays on the login page', async () => {
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent(), /Wrong e-mail address or password/);
    assert.equal(pathOf(), '/login');
    assert.equal(await page.locator('h1').textContent(), 'Log in');
    assert.equal(await page.getByLabel('E-mail').inputValue(), admin.email, 'e-mail is kept for the next try');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'password is not echoed back');
    await shot('login-error');
    await page.setViewportSize(PHONE);
    assert.equal(await hasHorizontalScroll(), false, 'login page scrolls sideways on a phone');
    await shot('phone-login-error');
    await page.setViewportSize(DESKTOP);
  });

  step('the forgot-password page explains what to do without e-mail', async () => {
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await arrive('/forgot', 'Reset your password');
    await page.getByText('This server does not send e-mail').waitFor();
    await shot('forgot');
    await page.getByRole('link', { name: 'Back to log in' }).click();
    await arrive('/login', 'Log in');
  });

  step('log in', async () => {
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await arrive('/', 'Dashboard');
    await page.waitForFunction(() => window.htmx !== undefined);
    assert.equal(await page.evaluate(() => window.htmx.version), HTMX_VERSION);
  });

  let apiKey;
  step('create an API key: it is shown once, in full', async () => {
    await clickNav('API keys');
    await arrive('/keys', 'API keys');
    await page.getByText('No API keys yet').waitFor();
    await page.getByLabel('Alias').fill('Greenhouse sensors');
    await page.getByRole('button', { name: 'Create key' }).click();
    const value = page.locator('#new-key-value');
    await value.waitFor();
    apiKey = (await value.textContent()).trim();
    assert.ok(apiKey.length >= 20, `key too short: ${apiKey}`);
    assert.match(await page.locator('#new-key h2').textContent(), /Greenhouse sensors/);
    assert.match(await flashText(), /API key created/);
    const row = page.locator('#keys tbody tr', { hasText: 'Greenhouse sensors' });
    assert.equal((await row.locator('code').textContent()).trim(), `…${apiKey.slice(-4)}`);
    // The copy button puts exactly the key on the clipboard.
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), apiKey);
    await shot('keys-new-key');
  });

  step('the key is gone from the page afterwards, only its last 4 remain', async () => {
    // As a person would: go elsewhere, press Back, come back, reload.
    const inStorage = () => page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    await clickNav('Audit log');
    await arrive('/audit', 'Audit log');
    assert.ok(!(await inStorage()).includes(apiKey), 'full key kept in the browser storage (history cache)');
    // Back to the entry that showed the key: it is fetched anew, not restored.
    await page.goBack();
    await arrive('/keys', 'API keys');
    await page.locator('#keys').waitFor();
    assert.equal(await page.locator('#new-key').count(), 0, 'going back shows the new-key panel again');
    assert.ok(!(await page.content()).includes(apiKey), 'going back shows the full key again');
    await clickNav('Audit log');
    await arrive('/audit', 'Audit log');
    await clickNav('API keys');
    await arrive('/keys', 'API keys');
    await page.reload();
    await arrive('/keys', 'API keys');
    const html = await page.content();
    assert.ok(!html.includes(apiKey), 'full key still in the page');
    assert.equal(await page.locator('#new-key').count(), 0);
    assert.match(html, new RegExp(`…${apiKey.slice(-4)}`));
    assert.ok(!(await inStorage()).includes(apiKey), 'full key kept in the browser storage');
  });

  step('revoke the key after confirming', async () => {
    const row = page.locator('#keys tbody tr', { hasText: 'Greenhouse sensors' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.flash', { hasText: 'API key revoked' }).waitFor();
    assert.match(dialogs.at(-1) ?? '', /Revoke “Greenhouse sensors”\?/);
    await row.locator('.badge', { hasText: 'revoked' }).waitFor();
    assert.equal(await row.getByRole('button', { name: 'Revoke' }).count(), 0);
    await shot('keys-revoked');
  });

  step('the audit log shows key events and the failed login', async () => {
    await clickNav('Audit log');
    await arrive('/audit', 'Audit log');
    const kinds = await page.locator('#audit tbody tr td:nth-child(2)').allTextContents();
    const set = new Set(kinds.map((k) => k.trim()));
    for (const k of ['setup', 'login.failure', 'login.success', 'apikey.created', 'apikey.revoked']) {
      assert.ok(set.has(k), `audit log lacks ${k}; has ${[...set].join(', ')}`);
    }
    const created = page.locator('#audit tbody tr', { hasText: 'apikey.created' });
    assert.match(await created.first().innerText(), /Greenhouse sensors/);
    await shot('audit');
  });

  step('filter the audit log by kind', async () => {
    await page.getByLabel('Kind').selectOption('apikey.revoked');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL((u) => u.pathname === '/audit' && u.searchParams.get('kind') === 'apikey.revoked');
    await page.locator('#audit tbody tr').first().waitFor();
    // The swapped-in table holds only the chosen kind.
    await page.waitForFunction(() => [...document.querySelectorAll('#audit tbody tr td:nth-child(2)')]
      .every((td) => td.textContent.trim() === 'apikey.revoked'));
    const kinds = (await page.locator('#audit tbody tr td:nth-child(2)').allTextContents()).map((k) => k.trim());
    assert.deepEqual(kinds, ['apikey.revoked']);
    assert.equal(await page.getByLabel('Kind').inputValue(), 'apikey.revoked');
    await shot('audit-filtered');
    // A filter that matches nothing says so.
    await page.getByLabel('Text').fill('no such entry anywhere');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('Nothing matches this filter.').waitFor();
    assert.equal(await page.locator('#audit').count(), 0);
  });

  step('change the name on the profile', async () => {
    await clickNav('Profile');
    await arrive('/profile', 'Profile');
    const name = page.getByLabel('Name');
    assert.equal(await name.inputValue(), admin.name);
    admin.name = 'Ada Lovelace';
    await name.fill(admin.name);
    await page.getByRole('button', { name: 'Save profile' }).click();
    await page.locator('.flash', { hasText: 'Profile saved' }).waitFor();
    await page.locator('nav .who', { hasText: admin.name }).waitFor();
    await page.reload();
    await arrive('/profile', 'Profile');
    assert.equal(await page.getByLabel('Name').inputValue(), admin.name);
    await shot('profile');
  });

  let inviteLink;
  step('invite an owner and get the link to hand over', async () => {
    await clickNav('Admin');
    await arrive('/admin', 'Admin');
    const form = page.locator('form[action="/admin/owners"]');
    await form.getByLabel('E-mail').fill(invitee.email);
    await form.getByLabel('Name').fill(invitee.name);
    await form.getByRole('button', { name: 'Invite' }).click();
    const link = page.locator('#handover-link #link-value');
    await link.waitFor();
    inviteLink = (await link.textContent()).trim();
    assert.ok(inviteLink.startsWith(`${base}/invite/`), `unexpected link ${inviteLink}`);
    assert.match(await page.locator('#handover-link h2').textContent(), new RegExp(invitee.email));
    const row = page.locator('#owners tbody tr', { hasText: invitee.email });
    await row.locator('.badge', { hasText: 'invited' }).waitFor();
    await shot('admin-invite');
    // Like an API key, the link is not kept in the browser once the page is left.
    await clickNav('Dashboard');
    await arrive('/', 'Dashboard');
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.ok(!stored.includes(inviteLink.split('/invite/')[1]), 'invitation link kept in the browser storage');
  });

  step('the invited owner sets a password through the link', async () => {
    const other = await browser.newContext({ viewport: DESKTOP });
    try {
      const p = await other.newPage();
      watch(p, '[invitee]');
      await p.goto(inviteLink);
      await p.locator('h1', { hasText: 'Choose your password' }).waitFor();
      await shot('invite-accept', p);
      await p.getByLabel('New password').fill(invitee.password);
      await p.getByLabel('Repeat password').fill(invitee.password);
      await p.getByRole('button', { name: 'Set password' }).click();
      await arrive('/', 'Dashboard', p);
      await p.locator('nav .who', { hasText: invitee.name }).waitFor();
      assert.equal(await p.locator('nav.nav ul a', { hasText: exact('Admin') }).count(), 0, 'non-admin sees Admin');
      // The link works only once.
      const again = await other.request.get(inviteLink);
      assert.equal(again.status(), 404);
    } finally {
      await other.close();
    }
  });

  step('every navigation section opens and explains itself', async () => {
    await page.goto(`${base}/`);
    await arrive('/', 'Dashboard');
    const links = await page.locator('nav.nav ul a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent.trim()]));
    const expected = { ...Object.fromEntries(Object.entries(emptySections).map(([p, [label]]) => [p, label])), ...otherSections };
    assert.deepEqual(Object.fromEntries(links), expected, 'navigation entries');
    for (const [href, label] of links) {
      await clickNav(label);
      await arrive(href, label);
      assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), label, `${href} not marked current`);
      const empty = emptySections[href];
      // A section whose feature has arrived replaces the generic empty page;
      // while it is still generic, it must say what will appear there.
      if (empty && (await page.locator('main .panel.empty', { hasText: 'Nothing here yet' }).count()) > 0) {
        await page.locator('main .panel.empty', { hasText: empty[1] }).waitFor();
      }
      assert.equal(await page.locator('main h1', { hasText: /Not found|Something went wrong|Not allowed/ }).count(), 0);
      await shot(`section${href === '/' ? '-dashboard' : href.replace(/\//g, '-')}`);
    }
  });

  step('the console fits a phone without sideways scrolling', async () => {
    await page.setViewportSize(PHONE);
    const wide = [];
    const hidden = [];
    try {
      for (const [href, label] of [['/keys', 'API keys'], ['/', 'Dashboard'], ['/audit', 'Audit log'],
        ['/profile', 'Profile'], ['/admin', 'Admin'], ['/devices', 'Devices']]) {
        await page.goto(`${base}${href}`);
        await arrive(href, label);
        await shot(`phone${href === '/' ? '-dashboard' : href.replace(/\//g, '-')}`);
        if (await hasHorizontalScroll()) wide.push(href);
        // The nav bar may scroll inside itself, but not widen the page.
        const nav = await page.locator('nav.nav').boundingBox();
        assert.ok(nav.x >= 0 && nav.x + nav.width <= PHONE.width, `${href}: nav is wider than the screen`);
        // …and shows the current section without the reader scrolling it.
        const cur = await page.locator('nav.nav a[aria-current="page"]').boundingBox();
        if (cur.x < 0 || cur.x + cur.width > PHONE.width) hidden.push(href);
      }
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    assert.deepEqual(wide, [], `pages that scroll sideways at ${PHONE.width}px`);
    assert.deepEqual(hidden, [], `pages whose current section is off screen at ${PHONE.width}px`);
  });

  step('log out at the end', async () => {
    await page.goto(`${base}/profile`);
    await arrive('/profile', 'Profile');
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await arrive('/login', 'Log in');
    assert.match(await flashText(), /logged out/);
    await shot('logged-out');
    await page.goto(`${base}/keys`);
    await arrive('/login', 'Log in');
  });
});
