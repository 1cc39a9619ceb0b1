// Saves screenshots of the main screens into docs/screenshots/:
//   HYPE_BIN=/path/to/hype node tests/e2e/screenshots.mjs   (or HYPE_URL=http://... for a running server)
// Needs web/dist built. Two users chat and join voice so the screens show real content.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { api, launch, loginUi, openUser, registerApi, setBase, sleep, until, voiceStats } from './lib/browser.mjs';
import { startHype } from './lib/server.mjs';

const OUT = resolve(new URL('../../docs/screenshots', import.meta.url).pathname);
mkdirSync(OUT, { recursive: true });

const server = await startHype();
setBase(server.url);
const browser = await launch();
try {
  const suffix = Date.now().toString(36).slice(-4);
  const names = { ada: `ada_${suffix}`, ben: `ben_${suffix}`, cy: `cy_${suffix}` };
  const ada = await registerApi(names.ada);
  const ben = await registerApi(names.ben);
  const cy = await registerApi(names.cy);
  const g = await api('POST', '/guilds', { name: 'Night Owls' }, ada.access_token);
  await api('POST', '/guilds', { name: 'Rust Club' }, ada.access_token);
  const inv = await api('POST', `/guilds/${g.id}/invites`, {}, ada.access_token);
  await api('POST', `/invites/${inv.code}`, undefined, ben.access_token);
  await api('POST', `/invites/${inv.code}`, undefined, cy.access_token);
  const full = await api('GET', `/guilds/${g.id}`, undefined, ada.access_token);
  const text = full.channels.find((c) => c.kind === 'text');
  await api('POST', `/guilds/${g.id}/channels`, { name: 'screenshots', kind: 'text' }, ada.access_token);
  await api('POST', `/guilds/${g.id}/channels`, { name: 'Gaming', kind: 'voice' }, ada.access_token);
  const lines = [
    [ben, 'anyone up for a quick call tonight?'],
    [ben, 'I finally fixed the echo on my mic'],
    [ada, 'yes! give me 10 minutes'],
    [ada, 'I also pushed the new build, the voice panel now shows RTT, jitter and loss per peer'],
    [cy, 'nice, joining in a bit (headphones on)'],
    [ben, 'the latency is great, feels like we are in the same room'],
  ];
  for (const [u, content] of lines) await api('POST', `/channels/${text.id}/messages`, { content }, u.access_token);

  // Login screen.
  const anon = await openUser(browser);
  await anon.page.getByRole('button', { name: 'Log in' }).waitFor();
  await anon.page.screenshot({ path: `${OUT}/login.png` });
  await anon.page.getByRole('button', { name: 'Register' }).click();
  await anon.page.screenshot({ path: `${OUT}/login-errors.png` });
  await anon.context.close();

  // Chat with messages (and Ben typing).
  const a = await openUser(browser);
  await loginUi(a.page, names.ada);
  await a.page.locator('.message .content', { hasText: 'same room' }).waitFor();
  const b = await openUser(browser);
  await loginUi(b.page, names.ben);
  await b.page.getByLabel('Message #general').pressSequentially('one sec', { delay: 20 });
  await a.page.getByText('is typing').waitFor();
  await a.page.screenshot({ path: `${OUT}/chat.png` });

  // Voice: both join; wait for audio and a speaking indicator.
  await a.page.getByRole('button', { name: 'Join voice' }).first().click();
  await b.page.getByRole('button', { name: 'Join voice' }).first().click();
  const benId = await b.page.evaluate(() => window.__hype.store.getState().me.id);
  await until(async () => (await voiceStats(a.page))[benId]?.packetsReceived > 0, { timeout: 30_000, what: 'audio' });
  await sleep(2500); // stats panel refreshes every 2 s
  await until(async () => (await a.page.locator(`.voice-members li[data-user-id="${benId}"]`).getAttribute('data-speaking')) === 'true', { interval: 30, what: 'speaking' });
  await a.page.screenshot({ path: `${OUT}/voice.png` });

  // Settings.
  await a.page.getByRole('button', { name: 'User settings' }).click();
  await sleep(800);
  await a.page.screenshot({ path: `${OUT}/settings.png` });
  await a.page.getByRole('button', { name: 'Done' }).click();

  // Phone width: chat, then the navigation drawer.
  const phone = await openUser(browser, { viewport: { width: 390, height: 844 } });
  await loginUi(phone.page, names.cy);
  await phone.page.locator('.message .content', { hasText: 'same room' }).waitFor();
  await phone.page.screenshot({ path: `${OUT}/phone-chat.png` });
  await phone.page.getByRole('button', { name: 'Open channels' }).click();
  await sleep(400);
  await phone.page.screenshot({ path: `${OUT}/phone-nav.png` });
  await phone.page.getByRole('button', { name: 'Close navigation' }).click({ position: { x: 370, y: 400 } });
  await phone.page.getByRole('button', { name: 'Members' }).click();
  await sleep(400);
  await phone.page.screenshot({ path: `${OUT}/phone-members.png` });
  console.log(`screenshots written to ${OUT}`);
} finally {
  await browser.close();
  await server.stop();
}
