// End-to-end walk through the device, transformer and MQTT pages of the
// thinx console in headless Chromium.
//
// Starts the server with its MQTT broker on free loopback ports and a fresh
// data directory, creates the administrator and an API key with the command
// line, lets `thinx simulate` check in a fleet, then uses the console as a
// person would: the device list (search, filter, sort, live rows), a device
// page (edit, environment, configuration push, mesh), bulk tags, a status
// transformer from editor to device, live MQTT traffic, the dashboard and a
// phone-sized viewport. Screenshots go to E2E_SCREENSHOTS as devices-NN-*.png.
//
// Needs mosquitto_pub and mosquitto_sub (Debian: mosquitto-clients).
// Environment: see lib.mjs. Run: node --test   (or run.sh)

import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DESKTOP, PHONE, cleanEnv, launchBrowser, pageHelpers, screenshots, serverBinary, startServer, stepper, thinx,
  watcher,
} from './lib.mjs';

const admin = { email: 'ada@example.com', password: 'correct horse battery staple' };
const FLEET = 25; // simulated devices

let workDir;
let bin;
let server;
let base;
let ownerID;
let apiKey;
let browser;
let context;
let page;
const w = watcher();
const shots = screenshots('devices-', () => page);
const { shot } = shots;
const { arrive, flashText, clickNav, hasHorizontalScroll, pathOf } = pageHelpers(() => page);
const steps = stepper({ watcher: w, onFail: () => shot('failed') });
const { step } = steps;

// The test's own devices, besides the simulated fleet: known names and
// statuses to look for.
const boiler = { mac: '5CCF7FB01E01', alias: 'Boiler room', status: 'Pressure low #e' };
const attic = { mac: '5CCF7FA771C0', alias: 'Attic', status: 'Battery 2.8V #w' };
const secretValue = 'hunter2-never-shown-again';

// ---------------------------------------------------------------- devices

// Checks a device in over the device API as THiNXLib does; returns its UDID.
async function checkin(dev, status) {
  const registration = { mac: dev.mac, owner: ownerID, alias: dev.alias, status, platform: 'platformio:esp8266',
    firmware: 'thinx-lib-esp8266:3.0.270', version: '3.0.270' };
  if (dev.udid) registration.udid = dev.udid;
  const r = await fetch(`${base}/device/register`, {
    method: 'POST',
    headers: { Authentication: apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ registration }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, `check-in answered ${r.status}: ${text}`);
  const udid = JSON.parse(text).registration?.udid;
  assert.ok(udid, `no UDID in ${text}`);
  dev.udid = udid;
  return udid;
}

// Runs a command to its end; resolves with its output, rejects on failure.
function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { out += d; });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}:\n${out}`))));
  });
}

function mqttArgs(dev, clientID) {
  return ['-h', '127.0.0.1', '-p', String(server.mqttPort), '-V', 'mqttv311', '-i', clientID,
    '-u', dev.udid, '-P', apiKey];
}

// mosquitto_sub logged in as the device, subscribed to its whole tree until
// stopped. subscribed resolves once the broker has granted the subscription.
let subscriber;
function startSubscriber(dev, clientID) {
  const p = spawn('mosquitto_sub', [...mqttArgs(dev, clientID), '-d', '-q', '1', '-t', `/${ownerID}/${dev.udid}/#`],
    { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise((resolve) => p.once('exit', resolve));
  const subscribed = new Promise((resolve, reject) => {
    const seen = (d) => {
      out += d;
      if (/received SUBACK/.test(out)) resolve();
    };
    p.stdout.on('data', seen);
    p.stderr.on('data', seen);
    p.on('error', reject);
    exited.then((code) => reject(new Error(`mosquitto_sub exited ${code}:\n${out}`)));
  });
  subscribed.catch(() => {});
  return {
    subscribed,
    async stop() {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------- page

const rows = () => page.locator('#devices tbody tr');
const row = (dev) => page.locator(`#device-${dev.udid}`);

async function names() {
  return (await page.locator('#devices tbody td.name a').allTextContents()).map((s) => s.trim());
}

// The pager's "1–27 of 27".
async function pagerTotal() {
  const t = await page.locator('#device-list .pager').innerText();
  const m = t.match(/of (\d+)/);
  assert.ok(m, `no total in pager "${t}"`);
  return Number(m[1]);
}

// Marks the window; the mark survives htmx swaps but not a page load.
async function mark() {
  await page.evaluate(() => { window.__noReload = true; });
}

async function stillMarked() {
  return page.evaluate(() => window.__noReload === true);
}

// Waits until the page's live stream (htmx SSE extension) has opened more
// often than `before` times.
async function streamOpen(before = 0) {
  await page.waitForFunction((n) => window.__sseOpen > n, before);
}

async function sseCount() {
  return page.evaluate(() => window.__sseOpen ?? 0);
}

// Runs action, then waits until htmx has settled the content it swapped in.
async function settledAfter(action) {
  const before = await page.evaluate(() => window.__settled);
  await action();
  await page.waitForFunction((n) => window.__settled > n, before);
}

// Screenshot at desktop and at phone width, asserting no sideways scroll.
async function shotBoth(name) {
  await shot(name);
  await page.setViewportSize(PHONE);
  try {
    assert.equal(await hasHorizontalScroll(), false, `${pathOf()} scrolls sideways at ${PHONE.width}px`);
    await shot(`phone-${name}`);
  } finally {
    await page.setViewportSize(DESKTOP);
  }
}

describe('devices, transformers and MQTT in a browser', () => {
  before(async () => {
    workDir = mkdtempSync(path.join(os.tmpdir(), 'thinx-e2e-devices-'));
    shots.clean();
    bin = serverBinary(workDir);
    const dataDir = path.join(workDir, 'data');
    // The owner and key exist before the first visit: no setup page.
    ownerID = thinx(bin, ['user', 'add', '--data', dataDir, '--email', admin.email, '--admin'], `${admin.password}\n`);
    assert.match(ownerID, /^[0-9a-f]{64}$/);
    apiKey = thinx(bin, ['apikey', 'new', '--data', dataDir, '--email', admin.email, '--alias', 'fleet']);
    assert.ok(apiKey.length >= 20, `key too short: ${apiKey}`);
    server = await startServer({ bin, dataDir, mqtt: true });
    base = server.base;
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: DESKTOP });
    // Counts opened live streams, to know when an update can be sent, and
    // settled htmx swaps: new content listens to the stream only then.
    await context.addInitScript(() => {
      window.__sseOpen = 0;
      window.__settled = 0;
      document.addEventListener('htmx:sseOpen', () => { window.__sseOpen += 1; });
      document.addEventListener('htmx:afterSettle', () => { window.__settled += 1; });
    });
    page = await context.newPage();
    w.watch(page, '[owner]');
  }, { timeout: 300_000 });

  after(async () => {
    try {
      await subscriber?.stop();
      await browser?.close();
    } finally {
      await server?.stop();
      if (steps.failed && server) console.log(`--- server log ---\n${server.log().slice(-8000)}`);
      if (w.consoleErrors.length) console.log(`console errors (not failing):\n  ${w.consoleErrors.join('\n  ')}`);
      if (workDir) rmSync(workDir, { recursive: true, force: true });
      console.log(`screenshots: ${shots.dir}`);
    }
  });

  step('log in and let a fleet check in', async () => {
    await page.goto(`${base}/devices`);
    await arrive('/login', 'Log in');
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await arrive('/devices', 'Devices');
    await page.getByText('No devices yet').waitFor();

    const out = await run(bin, ['simulate', '--server', base, '--owner', ownerID, '--key', apiKey,
      '--devices', String(FLEET), '--interval', '300ms', '--duration', '1500ms']);
    assert.match(out, new RegExp(`${FLEET} devices, \\d+ check-ins ok, 0 failed`));
    await checkin(boiler, boiler.status);
    await checkin(attic, attic.status);
  });

  step('the list shows every device with status badges', async () => {
    await page.reload();
    await arrive('/devices', 'Devices');
    assert.equal(await rows().count(), FLEET + 2);
    assert.equal(await pagerTotal(), FLEET + 2);
    // Markers become badges and leave the text.
    const b = row(boiler);
    assert.equal((await b.locator('td.status .badge').textContent()).trim(), 'error');
    assert.equal((await b.locator('td.status .badge.error').count()), 1);
    assert.equal((await b.locator('td.status > span:not(.badge)').textContent()).trim(), 'Pressure low');
    const a = row(attic);
    assert.equal((await a.locator('td.status .badge.warning').textContent()).trim(), 'warning');
    assert.equal((await a.locator('td.status > span:not(.badge)').textContent()).trim(), 'Battery 2.8V');
    const statuses = await page.locator('#devices tbody td.status').allInnerTexts();
    assert.ok(statuses.every((s) => !/#[ewi]\b/.test(s)), `a marker is still shown: ${statuses.join(' | ')}`);
    // The simulated fleet reports temperatures.
    assert.ok(statuses.filter((s) => /Running, \d+\.\d°C/.test(s)).length > 0, 'no simulated status shown');
    // Every badge is coloured by the level it names.
    const badges = await page.locator('#devices tbody td.status > .badge')
      .evaluateAll((bs) => bs.map((b) => [b.textContent.trim(), [...b.classList].join(' ')]));
    assert.ok(badges.length >= 2, `too few badges: ${JSON.stringify(badges)}`);
    for (const [text, cls] of badges) assert.equal(cls, `badge ${text}`);
    await shotBoth('list');
  });

  step('search narrows the list, and a shared URL keeps it', async () => {
    await mark();
    await page.getByLabel('Search').fill('boiler');
    await page.waitForURL((u) => u.searchParams.get('q') === 'boiler');
    await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr').length === 1);
    assert.deepEqual(await names(), [boiler.alias]);
    assert.ok(await stillMarked(), 'searching reloaded the page');
    await page.reload();
    await arrive('/devices', 'Devices');
    assert.equal(await page.getByLabel('Search').inputValue(), 'boiler');
    assert.deepEqual(await names(), [boiler.alias]);
    // A search that matches nothing says so.
    await page.getByLabel('Search').fill('no such device anywhere');
    await page.getByText('No devices match').waitFor();
    await page.getByRole('link', { name: 'Clear the filter' }).click();
    await page.waitForURL((u) => u.pathname === '/devices' && u.search === '');
    await page.waitForFunction((n) => document.querySelectorAll('#devices tbody tr').length === n, FLEET + 2);
    assert.equal(await page.getByLabel('Search').inputValue(), '');
  });

  step('the error filter narrows the list and survives a reload', async () => {
    await mark();
    await page.getByLabel('Status').selectOption('error');
    await page.waitForURL((u) => u.searchParams.get('status') === 'error');
    await page.waitForFunction((n) => {
      const trs = [...document.querySelectorAll('#devices tbody tr')];
      return trs.length > 0 && trs.length < n && trs.every((tr) => tr.querySelector('td.status .badge.error'));
    }, FLEET + 2);
    assert.ok(await stillMarked(), 'filtering reloaded the page');
    const filtered = await names();
    assert.ok(filtered.includes(boiler.alias), `${boiler.alias} missing from ${filtered}`);
    assert.ok(!filtered.includes(attic.alias), 'a warning is listed as an error');
    await shot('list-errors');
    await page.reload();
    await arrive('/devices', 'Devices');
    assert.equal(await page.getByLabel('Status').inputValue(), 'error');
    assert.deepEqual(await names(), filtered);
    await page.goto(`${base}/devices`);
    await arrive('/devices', 'Devices');
  });

  step('a column header sorts the list, and again reverses it', async () => {
    const asc = await names();
    assert.equal(asc.length, FLEET + 2);
    await mark();
    const nameHeader = page.locator('#devices thead th', { hasText: 'Name' });
    assert.equal(await nameHeader.getAttribute('aria-sort'), 'ascending');
    await nameHeader.locator('a').click();
    await page.waitForURL((u) => u.searchParams.get('sort') === '-alias');
    await page.locator('#devices thead th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
    const desc = await names();
    assert.deepEqual(desc, [...asc].reverse(), 'reversed sort is not the reverse order');
    assert.notDeepEqual(desc, asc);
    // Sorting by status puts errors first.
    await page.locator('#devices thead th', { hasText: 'Status' }).locator('a').click();
    await page.waitForURL((u) => u.searchParams.get('sort') === 'level');
    await page.locator('#devices thead th[aria-sort="ascending"]', { hasText: 'Status' }).waitFor();
    await page.waitForFunction(() => document.querySelector('#devices tbody tr td.status .badge.error') !== null
      && document.querySelector('#devices tbody tr:first-child td.status .badge.error') !== null);
    assert.ok(await stillMarked(), 'sorting reloaded the page');
    await shot('list-by-status');
    await page.reload();
    await arrive('/devices', 'Devices');
    await page.locator('#devices thead th[aria-sort="ascending"]', { hasText: 'Status' }).waitFor();
  });

  step('a check-in changes its row live, without a reload', async () => {
    await page.goto(`${base}/devices`);
    await arrive('/devices', 'Devices');
    await streamOpen();
    await mark();
    const at = page.url();
    await checkin(attic, 'Window open #w');
    await row(attic).locator('td.status', { hasText: 'Window open' }).waitFor();
    assert.equal((await row(attic).locator('td.status .badge').textContent()).trim(), 'warning');
    assert.ok(!(await row(attic).locator('td.status').innerText()).includes('#w'));
    assert.ok(await stillMarked(), 'the page was reloaded');
    assert.equal(page.url(), at);
    // Rows swapped in by a sort keep updating.
    await settledAfter(() => page.locator('#devices thead th', { hasText: 'Name' }).locator('a').click());
    await page.waitForURL((u) => u.searchParams.get('sort') === '-alias');
    await page.locator('#devices thead th[aria-sort="descending"]', { hasText: 'Name' }).waitFor();
    await checkin(attic, 'Window closed');
    await row(attic).locator('td.status', { hasText: 'Window closed' }).waitFor();
    assert.equal(await row(attic).locator('td.status .badge').count(), 0, 'badge left after the marker went');
    assert.ok(await stillMarked(), 'the page was reloaded');
    await shot('list-live');
  });

  step('meshes and the environment page open from the list', async () => {
    await page.getByRole('link', { name: 'Meshes', exact: true }).click();
    await arrive('/devices/meshes', 'Meshes');
    await page.getByText('No meshes yet').waitFor();
    await page.getByLabel('Name').fill('Heating');
    await page.getByRole('button', { name: 'Create mesh' }).click();
    await page.locator('#meshes tbody tr', { hasText: 'heating' }).waitFor();
    await shotBoth('meshes');
    await page.getByRole('link', { name: 'All devices' }).click();
    await arrive('/devices', 'Devices');
    await page.getByRole('link', { name: 'Environment', exact: true }).first().click();
    await arrive('/environment', 'Environment');
    await shotBoth('environment');
  });

  step('edit a device: name, tags and mesh', async () => {
    await page.goto(`${base}/devices`);
    await arrive('/devices', 'Devices');
    await row(boiler).getByRole('link', { name: boiler.alias }).click();
    await arrive(`/devices/${boiler.udid}`, boiler.alias);
    assert.equal((await page.locator('#udid').textContent()).trim(), boiler.udid);
    const edit = page.locator('section[aria-labelledby="edit-h"]');
    boiler.alias = 'Boiler room east';
    await edit.getByLabel('Name').fill(boiler.alias);
    await edit.getByLabel('Tags').fill('heating, basement');
    await edit.getByRole('button', { name: 'Save' }).click();
    await arrive(`/devices/${boiler.udid}`, boiler.alias);
    await page.locator('.flash.ok', { hasText: 'Saved.' }).waitFor();
    const facts = page.locator('section[aria-labelledby="facts-h"]');
    assert.deepEqual((await facts.locator('a.badge').allTextContents()).map((t) => t.trim()), ['heating', 'basement']);
    assert.equal(await edit.getByLabel('Name').inputValue(), boiler.alias);
    // Join the mesh made before.
    const meshes = page.locator('section[aria-labelledby="mesh-h"]');
    await meshes.getByRole('button', { name: 'Join mesh' }).click();
    await meshes.getByRole('link', { name: 'Heating' }).waitFor();
  });

  step('a secret device variable is never shown again', async () => {
    const env = page.locator('section[aria-labelledby="env-h"]');
    await env.locator('input[name="env.0.name"]').fill('WIFI_PASSWORD');
    await env.locator('input[name="env.0.value"]').fill(secretValue);
    await env.locator('input[name="env.0.secret"]').check();
    await env.locator('input[name="env.1.name"]').fill('ROOM');
    await env.locator('input[name="env.1.value"]').fill('basement');
    await env.getByRole('button', { name: 'Save variables' }).click();
    await page.locator('.flash.ok', { hasText: 'Variables saved.' }).waitFor();
    await page.reload();
    await arrive(`/devices/${boiler.udid}`, boiler.alias);
    const names = await env.locator('input[name$=".name"]').evaluateAll((is) => is.map((i) => i.value).filter(Boolean));
    assert.deepEqual(names.sort(), ['ROOM', 'WIFI_PASSWORD']);
    const secret = env.getByLabel('New value of WIFI_PASSWORD');
    assert.equal(await secret.inputValue(), '');
    assert.match(await secret.getAttribute('placeholder'), /set/);
    assert.ok(!(await page.content()).includes(secretValue), 'the secret value is in the page');
  });

  step('push configuration: shown as pending', async () => {
    const config = page.locator('section[aria-labelledby="config-h"]');
    await config.getByLabel('WIFI_PASSWORD').check();
    await config.getByLabel('Values').fill('INTERVAL=60');
    await config.getByRole('button', { name: 'Push' }).click();
    await arrive(`/devices/${boiler.udid}`, boiler.alias);
    assert.match(await flashText(), /^Configuration /);
    const push = config.locator('ul.pushes li').first();
    await push.waitFor();
    assert.match(await push.innerText(), /(pending|delivered)/);
    assert.match(await push.locator('code').innerText(), /INTERVAL/);
    assert.match(await push.locator('code').innerText(), /WIFI_PASSWORD/);
    assert.ok(!(await page.content()).includes(secretValue), 'the secret value is in the page');
    await shotBoth('device');
  });

  step('bulk: tag two devices at once', async () => {
    await page.goto(`${base}/devices`);
    await arrive('/devices', 'Devices');
    await page.getByLabel(`Select ${boiler.alias}`).check();
    await page.getByLabel(`Select ${attic.alias}`).check();
    const bulk = page.locator('form#bulk');
    await bulk.getByLabel('New tags, comma separated').fill('winter-check');
    await bulk.getByRole('button', { name: 'Set tags' }).click();
    await arrive('/devices/bulk', 'Set tags');
    const result = page.locator('#bulk-result tbody tr');
    assert.equal(await result.count(), 2);
    for (const dev of [boiler, attic]) {
      const r = result.filter({ has: page.getByRole('link', { name: dev.alias, exact: true }) });
      assert.equal((await r.locator('.badge').textContent()).trim(), 'ok');
    }
    assert.match(await page.locator('.stat', { hasText: 'done' }).innerText(), /^2\b/);
    await shotBoth('bulk-result');
    // The list links the new tag; following it shows just those two.
    await page.getByRole('link', { name: 'All devices' }).click();
    await arrive('/devices', 'Devices');
    await row(attic).getByRole('link', { name: 'winter-check' }).click();
    await page.waitForURL((u) => u.searchParams.get('tag') === 'winter-check');
    await page.waitForFunction(() => document.querySelectorAll('#devices tbody tr').length === 2);
    assert.deepEqual((await names()).sort(), [attic.alias, boiler.alias].sort());
  });

  let batterySource;
  let transformerURL;
  step('transformer editor: check and try answer in place', async () => {
    await clickNav('Transformers');
    await arrive('/transformers', 'Transformers');
    await page.getByText('No transformers yet').waitFor();
    await shot('transformers-empty');
    await page.locator('.panel', { hasText: 'Battery voltage' }).getByRole('link', { name: /Start from this example/ }).click();
    await arrive('/transformers/new', 'New transformer');
    // The editor adds line numbers beside the source.
    const gutter = page.locator('.editor .gutter');
    await gutter.waitFor();
    const source = page.locator('textarea#source');
    batterySource = await source.inputValue();
    const lines = batterySource.split('\n').length;
    assert.equal((await gutter.textContent()).split('\n').at(-1), String(lines));
    await mark();
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.locator('#result .flash.ok', { hasText: 'Compiles' }).waitFor();
    await page.getByLabel('Status to try').fill('ba0d5a');
    await page.getByRole('button', { name: 'Try', exact: true }).click();
    await page.locator('#result #try-output').waitFor();
    assert.equal((await page.locator('#try-output').textContent()).trim(), 'Battery 3.42V');
    assert.ok(await stillMarked(), 'check or try reloaded the page');
    assert.equal(pathOf(), '/transformers/new');
    await shotBoth('transformer-try');
  });

  step('transformer editor: Tab indents, a forbidden import is refused by line', async () => {
    const source = page.locator('textarea#source');
    // Put the caret after "import (" and type a new line there.
    await source.evaluate((ta) => {
      const at = ta.value.indexOf('import (') + 'import ('.length;
      ta.focus();
      ta.setSelectionRange(at, at);
    });
    const importLine = batterySource.slice(0, batterySource.indexOf('import (')).split('\n').length;
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'source', 'Tab moved the focus away');
    await page.keyboard.type('"os"');
    const value = await source.inputValue();
    assert.ok(value.includes('import (\n\t"os"\n'), `unexpected source:\n${value.slice(0, 300)}`);
    const lines = value.split('\n').length;
    assert.equal((await page.locator('.editor .gutter').textContent()).split('\n').at(-1), String(lines));
    await mark();
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    const problem = page.locator('#result .flash.error ul.problems li');
    await problem.first().waitFor();
    assert.match(await problem.first().innerText(), new RegExp(`^line ${importLine + 1}: .*"os"`));
    assert.ok(await stillMarked(), 'check reloaded the page');
    // What was typed is kept.
    assert.equal(await source.inputValue(), value);
    await shot('transformer-problem');
  });

  step('save a good version and attach it to a device', async () => {
    await page.locator('textarea#source').fill(batterySource);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL((u) => /^\/transformers\/[^/]+$/.test(u.pathname) && u.pathname !== '/transformers/new');
    transformerURL = pathOf();
    await page.locator('h1', { hasText: 'Battery voltage' }).waitFor();
    assert.match(await flashText(), /Saved as version 1/);
    assert.equal((await page.locator('h1 .badge').textContent()).trim(), 'v1');
    assert.equal(await page.locator('textarea#source').inputValue(), batterySource);
    await page.getByText('No device runs this transformer yet.').waitFor();
    await page.getByLabel('Add to device').selectOption({ label: attic.alias });
    await page.getByRole('button', { name: 'Attach' }).click();
    await page.locator('.flash.ok', { hasText: 'Attached' }).waitFor();
    await page.locator('.panel', { hasText: 'Devices running it' }).getByRole('link', { name: attic.alias }).waitFor();
    await shotBoth('transformer');
    await clickNav('Transformers');
    await arrive('/transformers', 'Transformers');
    const t = page.locator('#transformers tbody tr', { hasText: 'Battery voltage' });
    assert.match(await t.innerText(), /v1\s+1\b/);
    await shotBoth('transformers');
  });

  step('a check-in runs the transformer: the device page shows its output', async () => {
    await checkin(attic, 'ba0d5a');
    await page.goto(`${base}/devices/${attic.udid}`);
    await arrive(`/devices/${attic.udid}`, attic.alias);
    const status = page.locator('section[aria-labelledby="status-h"]');
    assert.equal((await status.locator('.status-big').innerText()).trim(), 'Battery 3.42V');
    assert.equal((await status.locator('dd code').first().textContent()).trim(), 'ba0d5a');
    await status.getByRole('link', { name: 'Battery voltage' }).waitFor();
    await status.getByRole('button', { name: 'Run transformers now' }).click();
    await arrive(`/devices/${attic.udid}`, attic.alias);
    await page.locator('.flash.ok', { hasText: 'Transformers ran on the last status.' }).waitFor();
    assert.equal((await status.locator('.status-big').innerText()).trim(), 'Battery 3.42V');
    await shot('device-transformed');
    // The list shows the output too.
    await page.goto(`${base}/devices`);
    assert.equal((await row(attic).locator('td.status').innerText()).trim(), 'Battery 3.42V');
    // The editor of the saved transformer works after a boosted visit too.
    await page.goto(`${base}${transformerURL}`);
    await page.locator('.editor .gutter').waitFor();
  });

  step('MQTT: the broker endpoint is listed', async () => {
    await clickNav('MQTT');
    await arrive('/mqtt', 'MQTT');
    const endpoints = await page.locator('main .panel ul li').allInnerTexts();
    assert.ok(endpoints.some((e) => e.includes(`mqtt://127.0.0.1:${server.mqttPort}`)), `endpoints: ${endpoints}`);
    await page.getByText('Nobody is connected').waitFor();
    await shot('mqtt-empty');
  });

  step('MQTT: the waiting configuration and a published status appear live', async () => {
    await page.goto(`${base}/devices/${boiler.udid}`);
    await arrive(`/devices/${boiler.udid}`, boiler.alias);
    const opened = await sseCount();
    await page.getByRole('link', { name: 'MQTT traffic' }).click();
    await arrive(`/devices/${boiler.udid}/mqtt`, `MQTT traffic of ${boiler.alias}`);
    await streamOpen(opened);
    await mark();
    const messages = page.locator('#mqtt-messages tbody tr');
    assert.equal(await messages.count(), 0);
    assert.ok(await page.locator('#no-messages').isVisible(), 'no "No messages yet"');
    await shot('device-mqtt-empty');

    // The device connects: the configuration pushed earlier goes out, its
    // secret masked in the view.
    subscriber = startSubscriber(boiler, 'e2e-sub');
    await subscriber.subscribed;
    const config = messages.first().locator('code', { hasText: '"configuration"' });
    await config.waitFor();
    const shown = await config.textContent();
    assert.match(shown, /"INTERVAL":"60"/);
    assert.match(shown, /"WIFI_PASSWORD":"•+"/);
    assert.ok(!(await page.content()).includes(secretValue), 'the secret value is shown live');

    // The device publishes a status: it comes in at the top.
    const payload = JSON.stringify({ status: 'Burner on, 63°C' });
    await run('mosquitto_pub', [...mqttArgs(boiler, 'e2e-pub'), '-q', '1',
      '-t', `/${ownerID}/${boiler.udid}/status`, '-m', payload]);
    await messages.first().locator('code', { hasText: payload }).waitFor();
    assert.equal(await messages.count(), 2);
    assert.match(await messages.first().locator('td').nth(1).innerText(), new RegExp(`${boiler.udid}/status$`));
    assert.ok(await stillMarked(), 'the page was reloaded');
    assert.equal(await page.locator('#no-messages').isVisible(), false, '"No messages yet" shown beside messages');
    await shotBoth('device-mqtt');

    // The recorded history masks the secret too. History rows are written
    // in batches, so reload until both are stored.
    for (let tries = 0; ; tries++) {
      await page.reload();
      await arrive(`/devices/${boiler.udid}/mqtt`, `MQTT traffic of ${boiler.alias}`);
      if ((await messages.count()) === 2 || tries === 50) break;
      await page.waitForTimeout(100);
    }
    assert.equal(await messages.count(), 2);
    assert.ok(!(await page.content()).includes(secretValue), 'the secret value is in the MQTT history');

    // The status reached the device, and the push is delivered.
    await page.getByRole('link', { name: 'Back to the device' }).click();
    await arrive(`/devices/${boiler.udid}`, boiler.alias);
    assert.equal((await page.locator('.status-big').innerText()).trim(), 'Burner on, 63°C');
    assert.match(await page.locator('ul.pushes li').first().innerText(), /delivered/);
  });

  step('MQTT: a connected client is listed while it is connected', async () => {
    try {
      await clickNav('MQTT');
      await arrive('/mqtt', 'MQTT');
      const client = page.locator('#mqtt-clients tbody tr', { hasText: 'e2e-sub' });
      await client.waitFor();
      await client.getByRole('link', { name: boiler.alias }).waitFor();
      assert.match(await client.innerText(), new RegExp(`/${boiler.udid}/#`));
      await shotBoth('mqtt');
    } finally {
      await subscriber?.stop();
    }
  });

  step('the dashboard shows counters and charts', async () => {
    await checkin(boiler, 'Pressure low #e');
    await clickNav('Dashboard');
    await arrive('/', 'Dashboard');
    const counter = async (label) => {
      const t = await page.locator('a.counter', { has: page.locator('small', { hasText: label }) }).innerText();
      return Number(t.split('\n')[0].trim());
    };
    assert.equal(await counter(/^devices$/), FLEET + 2);
    assert.ok((await counter(/^in error$/)) >= 1, 'no device in error');
    assert.ok((await counter(/^check-ins today$/)) >= FLEET + 2);
    const charts = page.locator('figure.chart');
    assert.ok((await charts.count()) >= 1, 'no charts');
    for (const c of await charts.all()) {
      assert.equal(await c.locator('svg').count(), 1);
      const box = await c.locator('svg').boundingBox();
      assert.ok(box.width > 100 && box.height > 50, `chart too small: ${JSON.stringify(box)}`);
    }
    assert.ok((await page.locator('figure.chart svg .bar').count()) > 0, 'no bars drawn');
    await page.locator('section[aria-labelledby="errors-h"]').getByRole('link', { name: boiler.alias }).waitFor();
    await shotBoth('dashboard');
  });

  step('the pages fit a phone without sideways scrolling', async () => {
    await page.setViewportSize(PHONE);
    const wide = [];
    try {
      for (const [href, heading] of [
        ['/devices', 'Devices'],
        [`/devices/${boiler.udid}`, boiler.alias],
        [`/devices/${attic.udid}`, attic.alias],
        ['/transformers', 'Transformers'],
        ['/transformers/new?example=battery', 'New transformer'],
        [transformerURL, /Battery voltage/],
        ['/mqtt', 'MQTT'],
        [`/devices/${boiler.udid}/mqtt`, `MQTT traffic of ${boiler.alias}`],
      ]) {
        await page.goto(`${base}${href}`);
        await arrive(new URL(href, base).pathname, heading);
        if (await hasHorizontalScroll()) wide.push(href);
      }
      await page.goto(`${base}/transformers/new?example=battery`);
      await page.locator('.editor .gutter').waitFor();
      await shot('phone-transformer-new');
    } finally {
      await page.setViewportSize(DESKTOP);
    }
    assert.deepEqual(wide, [], `pages that scroll sideways at ${PHONE.width}px`);
  });
});
