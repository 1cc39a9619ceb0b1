// The guild owner opens "Voice analytics" from the guild header and sees the voice usage the
// analytics role counted, as named SVG charts; a plain member has no such button.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, openUser, registerApi, registerUi, sleep, uniqueName, until } from './lib/browser.mjs';

describe('voice analytics page', () => {
  let browser, owner, member;
  const ownerName = uniqueName('own');

  before(async () => {
    browser = await launch();
    owner = await openUser(browser);
    member = await openUser(browser);
  });
  after(async () => {
    await browser?.close();
  });

  it('shows managers their guild voice usage as charts', async () => {
    const { page } = owner;
    const token = (await registerApi(ownerName)).access_token;
    await loginUi(page, ownerName);
    await page.getByRole('button', { name: 'Create guild' }).click();
    await page.getByLabel('Guild name').fill('Stats Guild');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();

    // Someone spends a moment in voice (REST join and leave: the UI's voice is tested elsewhere).
    const [guild] = await api('GET', '/guilds', undefined, token);
    const voice = (await api('GET', `/guilds/${guild.id}/channels`, undefined, token)).find((c) => c.kind === 'voice');
    const other = await registerApi(uniqueName('vis'));
    const inv = await api('POST', `/guilds/${guild.id}/invites`, {}, token);
    await api('POST', `/invites/${inv.code}`, undefined, other.access_token);
    await api('POST', `/voice/join/${voice.id}`, {}, token);
    await api('POST', `/voice/join/${voice.id}`, {}, other.access_token);
    await sleep(500);
    await api('POST', `/voice/leave/${voice.id}`, undefined, other.access_token);
    await api('POST', `/voice/leave/${voice.id}`, undefined, token);
    await until(async () => {
      const a = await api('GET', `/guilds/${guild.id}/analytics?days=7`, undefined, token);
      return a.days.at(-1).joins === 2 && a.days.at(-1).voice_seconds > 0.9;
    }, { what: 'rollups' });

    await page.getByRole('button', { name: 'Voice analytics' }).click();
    const dialog = page.getByRole('dialog', { name: 'Voice analytics' });
    await dialog.waitFor();
    for (const name of ['Voice minutes per day', 'Peak concurrent voice users per day', 'Voice joins per hour, last 24 hours'])
      await dialog.getByRole('img', { name }).waitFor();
    await dialog.getByText('Most people at once').waitFor();
    assert.equal(await dialog.locator('.analytics-totals div', { hasText: 'Most people at once' }).locator('dd').textContent(), '2');
    assert.equal(await dialog.locator('.analytics-totals div', { hasText: 'Joins' }).first().locator('dd').textContent(), '2');
    assert.equal(await dialog.locator('figure').first().locator('rect').count(), 7);
    await dialog.getByLabel('Period').selectOption('30');
    await until(async () => (await dialog.locator('figure').first().locator('rect').count()) === 30, { what: '30 days' });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // A member without MANAGE_GUILD has no analytics button.
    await registerUi(member.page, uniqueName('mem'));
    const inv2 = await api('POST', `/guilds/${guild.id}/invites`, {}, token);
    await member.page.getByRole('button', { name: 'Join guild' }).click();
    await member.page.getByLabel('Invite code').fill(inv2.code);
    await member.page.getByRole('button', { name: 'Join', exact: true }).click();
    await member.page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    assert.equal(await member.page.getByRole('button', { name: 'Voice analytics' }).count(), 0);
  });
});
