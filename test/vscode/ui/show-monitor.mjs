// "Layer Rotation: Show Monitor" from the command palette opens the monitor webview.
import { runCommand, screenshot, waitFor, webviewFrame } from '../harness.mjs';

export const options = { workspaceFrom: 'examples', trust: 'off' };

export default async function showMonitor(session, t) {
  const { page } = session;
  await runCommand(page, 'Layer Rotation: Show Monitor');
  const body = webviewFrame(page).locator('body');
  await body.waitFor({ state: 'attached', timeout: 30000 });
  // Tolerant of what the monitor shows: only that the webview got its HTML.
  await waitFor(async () => (await body.innerHTML()).trim().length > 0, {
    timeout: 30000,
    what: 'the monitor webview to get its HTML',
  });
  await page.waitForTimeout(1000); // let its scripts render before the screenshot
  const shot = await screenshot(page, 'show-monitor');
  t.diagnostic(`screenshot: ${shot}`);
  t.diagnostic(`monitor text: ${JSON.stringify((await body.innerText()).replace(/\s+/g, ' ').trim().slice(0, 200))}`);
  // Webview resources the workbench could not read (say, a bundle not built yet).
  for (const line of session.consoleLines.filter((l) => /Unable to read file .*vscode-resource/.test(l))) {
    t.diagnostic(
      `webview resource missing: ${line.match(/"requestResourcePath":"([^"]+)"/)?.[1] ?? line.slice(0, 200)}`,
    );
  }
}
