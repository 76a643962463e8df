import { expect, test } from '@playwright/test';
import { trainThenPause } from './tiny-run';

/** Collects the page's content-security-policy violations in window.cspViolations. */
const RECORD_VIOLATIONS = `window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => window.cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));`;

test('a whole session contacts nothing outside the app’s own origin, and the content security policy allows nothing else', async ({ page, context, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  const consoleViolations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) consoleViolations.push(message.text());
  });
  await page.addInitScript(RECORD_VIOLATIONS);

  await page.goto('/');
  await expect(page.locator('meta[http-equiv="Content-Security-Policy"]')).toHaveAttribute('content', /connect-src 'self'/);
  const status = page.getByRole('status', { name: 'Training status' });
  await expect(status.getByLabel('Backend', { exact: true })).toContainText('WebAssembly');
  // Train (the WebAssembly backend with its threads' blob: workers), pause, export, another dataset, Compare.
  await trainThenPause(page, 3);
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download metrics CSV' }).click();
  await download;
  await page.getByRole('radio', { name: /MNIST digits/ }).click();
  await expect(page.getByRole('radio', { name: /MNIST digits/ })).toHaveAttribute('aria-checked', 'true', { timeout: 90_000 });
  await page.getByRole('tab', { name: 'Compare' }).click();
  const panel = page.getByRole('tabpanel', { name: 'Compare' });
  await panel.getByRole('button', { name: 'Add run' }).click();
  await panel.getByRole('button', { name: 'Start comparison' }).click();
  await expect(panel.getByRole('status', { name: 'Comparison status' })).toContainText('Training', { timeout: 90_000 });

  // Anything trying to leave is refused by the policy.
  const outside = await page.evaluate(`fetch('https://example.com/collect', { method: 'POST', body: 'x' }).then(() => 'sent', (error) => 'refused: ' + error.message)`);
  expect(outside).toMatch(/^refused/);
  const pageViolations = (await page.evaluate('window.cspViolations')) as string[];
  // Reported once per policy that refused it (the page's <meta> and the server's header): nothing else was refused all session.
  expect([...new Set(pageViolations)]).toEqual(['connect-src https://example.com/collect']);

  const elsewhere = requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:') && !url.startsWith('blob:'));
  expect(elsewhere).toEqual([]);
  // The workers' own requests are among those recorded: the WebAssembly binary is fetched by the training worker.
  expect(requests.some((url) => url.endsWith('.wasm'))).toBe(true);
  expect(consoleViolations.filter((text) => !text.includes('example.com'))).toEqual([]);
  console.log(`one session: ${requests.length} requests, all to ${origin} (or in-memory data:/blob:)`);
});
