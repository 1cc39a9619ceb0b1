// Every control has an accessible name (inputs a visible label), on each main screen and at
// phone width; keyboard shortcuts and focus work without a mouse.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, launch, loginUi, openUser, registerApi, uniqueName } from './lib/browser.mjs';

function unnamedControls(page) {
  return page.evaluate(() => {
    const bad = [];
    const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
    for (const el of document.querySelectorAll('button, a[href], [role="button"]')) {
      const name = (el.getAttribute('aria-label') || el.textContent || el.getAttribute('title') || '').trim();
      if (!name) bad.push(el.outerHTML.slice(0, 120));
    }
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      const labelled = (el.labels && [...el.labels].some((l) => l.textContent.trim() && visible(l))) || el.getAttribute('aria-labelledby') || el.closest('label');
      if (!labelled) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  });
}

describe('accessibility basics', () => {
  let browser, user, guildId;
  before(async () => {
    browser = await launch();
    const name = uniqueName('kb');
    const u = await registerApi(name);
    const g = await api('POST', '/guilds', { name: 'Keys' }, u.access_token);
    guildId = g.id;
    await api('POST', `/guilds/${guildId}/channels`, { name: 'second', kind: 'text' }, u.access_token);
    user = { name, ...(await openUser(browser)) };
  });
  after(async () => {
    await browser?.close();
  });

  it('login screen', async () => {
    assert.deepEqual(await unnamedControls(user.page), []);
  });

  it('chat, dialogs and settings', async () => {
    const { page } = user;
    await loginUi(page, user.name);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    assert.deepEqual(await unnamedControls(page), []);
    for (const [open, close] of [
      ['Create guild', 'Cancel'],
      ['Join guild', 'Cancel'],
      ['Create invite', 'Done'],
      ['User settings', 'Done'],
    ]) {
      await page.getByRole('button', { name: open }).click();
      await page.getByRole('dialog').waitFor();
      assert.deepEqual(await unnamedControls(page), [], `inside "${open}"`);
      await page.getByRole('dialog').getByRole('button', { name: close, exact: true }).click();
      await page.getByRole('dialog').waitFor({ state: 'detached' });
    }
  });

  it('keyboard: Escape closes dialogs, Alt+ArrowDown changes channel, Enter sends', async () => {
    const { page } = user;
    await page.getByRole('button', { name: 'User settings' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    // Focus returns to the button that opened the dialog.
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'User settings');
    await page.keyboard.press('Alt+ArrowDown');
    await page.getByRole('heading', { name: 'second', exact: true }).waitFor();
    await page.getByLabel('Message #second').focus();
    await page.keyboard.type('typed with the keyboard');
    await page.keyboard.press('Enter');
    await page.locator('.message[data-state="sent"]', { hasText: 'typed with the keyboard' }).waitFor();
    // Up in the empty composer edits the last own message.
    await page.keyboard.press('ArrowUp');
    await page.getByLabel('Edit message').waitFor();
    await page.keyboard.press('Escape');
  });

  it('phone width: drawers open and close, controls stay named', async () => {
    const phone = await openUser(browser, { viewport: { width: 390, height: 844 } });
    await loginUi(phone.page, user.name);
    await phone.page.getByRole('heading', { name: /general|second/ }).first().waitFor();
    assert.deepEqual(await unnamedControls(phone.page), []);
    const toggle = phone.page.getByRole('button', { name: 'Open channels' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await phone.page.getByRole('button', { name: 'Create guild' }).isVisible(), false);
    await toggle.click();
    await phone.page.getByRole('button', { name: 'Create guild' }).waitFor();
    await phone.page.getByRole('button', { name: 'general', exact: true }).click();
    await phone.page.getByRole('button', { name: 'Create guild' }).waitFor({ state: 'hidden' });
    // The page never scrolls sideways.
    assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  });
});
