import assert from 'node:assert/strict';
// Helpers shared by the e2e tests: one headless Chromium (flags from shared/TESTING.md),
// one browser context per user, REST shortcuts for setup, and polling helpers.
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export let BASE = process.env.HYPE_URL ?? 'http://127.0.0.1:8080';
/** For scripts that start their own server after import. */
export function setBase(url) {
  BASE = url;
}

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream=fps=30',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
  // Hidden/occluded pages must keep timers and audio running for the speaking indicators.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

/** executablePath: e.g. a wrapper that runs Chromium in a network namespace (lib/netns_lab.mjs). */
export async function launch({ args = [], executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium' } = {}) {
  return chromium.launch({ executablePath, headless: false, args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * A WAV file (48 kHz mono 16-bit) of a continuous, slowly warbling tone: Chromium's default
 * fake microphone beeps once a second and is silent in between, which Opus DTX turns into
 * gaps; with `--use-file-for-fake-audio-capture=<file>` the sender talks without pause.
 */
export function writeToneWav(path, seconds = 4) {
  const rate = 48000;
  const n = rate * seconds;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const f = 330 + 60 * Math.sin((2 * Math.PI * i) / rate); // 270..390 Hz, once a second
    phase += (2 * Math.PI * f) / rate;
    buf.writeInt16LE(Math.round(12000 * Math.sin(phase)), 44 + i * 2);
  }
  writeFileSync(path, buf);
  return path;
}

let counter = 0;
export function uniqueName(prefix) {
  counter++;
  return `${prefix}${Date.now().toString(36).slice(-5)}${counter}`;
}

export const PASSWORD = 'correct-horse-9';

/** REST call from node (setup shortcuts; the UI is tested separately). */
export async function api(method, path, body, token) {
  const res = await fetch(`${BASE}/api/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return data;
}

export async function registerApi(username) {
  return api('POST', '/auth/register', { username, password: PASSWORD });
}

/** Every page openUser made that is still open: a failure prints what each of them saw. */
const openPages = new Set();

/** Client logs and P2P negotiation state of every open page (bounded), for failure messages. */
export async function describePages() {
  const out = [];
  for (const page of openPages) {
    if (page.isClosed()) continue;
    const d = await page
      .evaluate(() => {
        const h = window.__hype;
        return { me: h.store.getState().me?.id, p2p: h.rtcService.p2pDiagnostics(), logs: h.store.logs.slice(-12) };
      })
      .catch((e) => ({ error: String(e) }));
    out.push(JSON.stringify(d));
  }
  return out.join('\n');
}

/** Includes `page` in describePages() while it is open. */
export function trackPage(page) {
  openPages.add(page);
  page.on('close', () => openPages.delete(page));
  return page;
}

/** A user in its own browser context. */
export async function openUser(browser, { viewport = { width: 1280, height: 720 }, forceRelay = false } = {}) {
  const context = await browser.newContext({ viewport, baseURL: BASE });
  if (forceRelay) await context.addInitScript(() => localStorage.setItem('hype.forceRelay', '1'));
  const page = trackPage(await context.newPage());
  page.on('pageerror', (e) => console.error('[pageerror]', e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error('[console]', m.text());
  });
  await page.goto('/');
  return { context, page };
}

export async function registerUi(page, username, password = PASSWORD) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Register' }).click();
  await page.locator('.shell').waitFor();
}

export async function loginUi(page, username, password = PASSWORD) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.shell').waitFor();
}

/** Polls fn until it returns a truthy value (returned) or the time is up (throws with the last value). */
export async function until(fn, { timeout = 20_000, interval = 250, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Per-peer getStats summaries from the client's rtcService. */
export function voiceStats(page) {
  return page.evaluate(() => window.__hype.rtcService.getStatsSummary());
}

export function myId(page) {
  return page.evaluate(() => window.__hype.store.getState().me?.id);
}

/** The voice member row of a user in the channel list. */
export function voiceRow(page, userId) {
  return page.locator(`.voice-members li[data-user-id="${userId}"]`);
}

/** Waits until this page receives Opus from every listed user and the counters keep growing. */
export async function assertReceiving(page, userIds, label) {
  let last;
  const first = await until(
    async () => {
      const s = (last = await voiceStats(page));
      return userIds.every((u) => s[u] && s[u].packetsReceived > 0 && s[u].codec === 'audio/opus') && s;
    },
    { timeout: 30_000, what: `${label}: inbound Opus from ${userIds.join(', ')}` },
  ).catch(async (e) => {
    const diag = await page.evaluate(() => window.__hype.store.logs.slice(-20).join('\n')).catch(() => '');
    throw new Error(`${e.message}\nlast stats: ${JSON.stringify(last)}\nclient log:\n${diag}\nevery page:\n${await describePages()}`);
  });
  await sleep(2000);
  const second = await voiceStats(page);
  for (const u of userIds) {
    assert.ok(second[u].packetsReceived > first[u].packetsReceived, `${label}: packets from ${u} grow (${first[u].packetsReceived} -> ${second[u].packetsReceived})`);
    assert.equal(second[u].connectionState, 'connected');
  }
  return second;
}

// One series of the server's /metrics (a family name sums its children), or 0.
export async function metricValue(series) {
  const text = await (await fetch(BASE + '/metrics')).text();
  let sum = 0;
  for (const l of text.split('\n')) {
    if (l.startsWith('#')) continue;
    const name = l.slice(0, l.lastIndexOf(' '));
    if (name === series || (!series.includes('{') && name.startsWith(series + '{'))) sum += Number(l.split(' ').pop());
  }
  return sum;
}

// Makes the page send a quality report now (two readings 1.2 s apart, as its 10 s timer
// does) and waits until the server counted one more accepted report and one more latency
// observation per stream it receives.
export async function assertQualityReported(page, label) {
  const accepted = await metricValue('voice_quality_reports_total{result="accepted"}');
  const latency = await metricValue('voice_latency_seconds_count');
  await page.evaluate(() => window.__hype.rtcService.tickQuality());
  await sleep(1200);
  await page.evaluate(() => window.__hype.rtcService.tickQuality());
  await until(async () => (await metricValue('voice_quality_reports_total{result="accepted"}')) > accepted, { what: `${label}: quality report accepted` });
  await until(async () => (await metricValue('voice_latency_seconds_count')) > latency, { what: `${label}: latency observed` });
}

/** A user joins voice muted (their page's "Join voice") and waits until connected. */
export async function joinVoiceMuted(u, { timeout } = {}) {
  await u.page.evaluate(() => window.__hype.rtcService.setMute(true));
  await u.page.getByRole('button', { name: 'Join voice' }).click();
  await until(() => u.page.evaluate(() => window.__hype.rtcService.getSnapshot().status === 'connected'), { what: `${u.name ?? 'user'} in voice`, ...(timeout ? { timeout } : {}) });
}

/** A streamer's tile on a page's stage. */
export const streamTile = (page, userId) => page.locator(`.stream-tile[data-user-id="${userId}"]`);
