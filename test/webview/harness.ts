// Runs the monitor webview in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): builds dist/webview.js + webview.css into a temporary folder, serves them with
// the page of webview/html.ts (same CSP as in VS Code) from 127.0.0.1, with the --vscode-* theme
// variables VS Code would set, and records console errors and CSP violations.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { monitorHtml } from '../../webview/html';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Theme variables as VS Code's Dark Modern and Light Modern themes define them.
const DARK = {
  'font-family': "-apple-system, BlinkMacSystemFont, 'Segoe WPC', 'Segoe UI', 'Ubuntu', 'Droid Sans', sans-serif",
  'font-size': '13px',
  'font-weight': 'normal',
  foreground: '#cccccc',
  descriptionForeground: '#9d9d9d',
  errorForeground: '#f85149',
  focusBorder: '#0078d4',
  'editor-background': '#1f1f1f',
  'editor-foreground': '#cccccc',
  'editor-selectionBackground': '#264f78',
  'sideBar-background': '#181818',
  'panel-border': '#2b2b2b',
  'widget-border': '#313131',
  'widget-shadow': 'rgba(0, 0, 0, 0.36)',
  'charts-foreground': '#cccccc',
  'charts-lines': 'rgba(204, 204, 204, 0.5)',
  'charts-red': '#f14c4c',
  'charts-blue': '#3794ff',
  'charts-yellow': '#cca700',
  'charts-orange': '#d18616',
  'charts-green': '#89d185',
  'charts-purple': '#b180d7',
  'editorWarning-foreground': '#cca700',
  'inputValidation-errorBackground': '#5a1d1d',
  'inputValidation-errorBorder': '#be1100',
  'inputValidation-warningBackground': '#352a05',
  'inputValidation-warningBorder': '#b89500',
  'badge-background': '#616161',
  'badge-foreground': '#f8f8f8',
  'button-background': '#0078d4',
  'button-foreground': '#ffffff',
  'button-border': 'rgba(255, 255, 255, 0.07)',
  'button-hoverBackground': '#026ec1',
  'button-secondaryBackground': '#313131',
  'button-secondaryForeground': '#cccccc',
  'button-secondaryHoverBackground': '#3c3c3c',
  'progressBar-background': '#0078d4',
  'editorHoverWidget-background': '#202020',
  'editorHoverWidget-foreground': '#cccccc',
  'editorHoverWidget-border': '#454545',
  'list-hoverBackground': '#2a2d2e',
  'list-activeSelectionBackground': '#04395e',
  'list-activeSelectionForeground': '#ffffff',
  'textLink-foreground': '#4daafc',
  'textLink-activeForeground': '#4daafc',
  'tree-inactiveIndentGuidesStroke': 'rgba(88, 88, 88, 0.4)',
  'settings-dropdownBackground': '#313131',
  'settings-dropdownBorder': '#3c3c3c',
  'settings-dropdownForeground': '#cccccc',
  'settings-dropdownListBorder': '#454545',
};

const LIGHT: Record<string, string> = {
  ...DARK,
  foreground: '#3b3b3b',
  descriptionForeground: '#3b3b3b',
  'editor-background': '#ffffff',
  'editor-foreground': '#3b3b3b',
  'editor-selectionBackground': '#add6ff',
  'sideBar-background': '#f8f8f8',
  'panel-border': '#e5e5e5',
  'widget-border': '#e5e5e5',
  'charts-foreground': '#616161',
  'charts-lines': 'rgba(97, 97, 97, 0.5)',
  'charts-blue': '#1a85ff',
  'charts-green': '#388a34',
  'editorWarning-foreground': '#bf8803',
  'badge-background': '#cccccc',
  'badge-foreground': '#3b3b3b',
  'button-secondaryBackground': '#e5e5e5',
  'button-secondaryForeground': '#3b3b3b',
  'editorHoverWidget-background': '#f8f8f8',
  'editorHoverWidget-foreground': '#3b3b3b',
  'editorHoverWidget-border': '#c8c8c8',
  'list-hoverBackground': '#f2f2f2',
  'settings-dropdownBackground': '#ffffff',
  'settings-dropdownBorder': '#cecece',
  'settings-dropdownForeground': '#3b3b3b',
};

// VS Code's High Contrast (dark) and High Contrast Light themes: black or white, borders everywhere.
const HC_DARK: Record<string, string> = {
  ...DARK,
  foreground: '#ffffff',
  descriptionForeground: '#ffffff',
  errorForeground: '#f48771',
  focusBorder: '#f38518',
  contrastBorder: '#6fc3df',
  contrastActiveBorder: '#f38518',
  'editor-background': '#000000',
  'editor-foreground': '#ffffff',
  'sideBar-background': '#000000',
  'panel-border': '#6fc3df',
  'widget-border': '#6fc3df',
  'charts-foreground': '#ffffff',
  'charts-lines': 'rgba(255, 255, 255, 0.5)',
  'charts-blue': '#3794ff',
  'charts-orange': '#d18616',
  'editorWarning-foreground': '#ffd370',
  'badge-background': '#000000',
  'badge-foreground': '#ffffff',
  'button-secondaryBackground': '#000000',
  'button-secondaryForeground': '#ffffff',
  'editorHoverWidget-background': '#0c141f',
  'editorHoverWidget-foreground': '#ffffff',
  'editorHoverWidget-border': '#6fc3df',
  'list-hoverBackground': 'rgba(0, 0, 0, 0)',
};

const HC_LIGHT: Record<string, string> = {
  ...LIGHT,
  foreground: '#292929',
  descriptionForeground: '#292929',
  errorForeground: '#b5200d',
  focusBorder: '#006bbd',
  contrastBorder: '#0f4a85',
  contrastActiveBorder: '#006bbd',
  'editor-background': '#ffffff',
  'editor-foreground': '#292929',
  'sideBar-background': '#ffffff',
  'panel-border': '#0f4a85',
  'widget-border': '#0f4a85',
  'charts-foreground': '#292929',
  'charts-lines': 'rgba(41, 41, 41, 0.5)',
  'charts-blue': '#0f4a85',
  'charts-orange': '#b5200d',
  'editorWarning-foreground': '#895503',
  'badge-background': '#0f4a85',
  'badge-foreground': '#ffffff',
  'button-secondaryBackground': '#ffffff',
  'button-secondaryForeground': '#292929',
  'editorHoverWidget-background': '#ffffff',
  'editorHoverWidget-foreground': '#292929',
  'editorHoverWidget-border': '#0f4a85',
};

export type ThemeClass = 'vscode-dark' | 'vscode-light' | 'vscode-high-contrast' | 'vscode-high-contrast-light';

function themeCss(): string {
  const vars = (t: Record<string, string>) =>
    Object.entries(t)
      .map(([k, v]) => `  --vscode-${k}: ${v};`)
      .join('\n');
  return `body.vscode-dark {\n${vars(DARK)}\n}\nbody.vscode-light {\n${vars(LIGHT)}\n}\nbody.vscode-high-contrast {\n${vars(HC_DARK)}\n}\nbody.vscode-high-contrast-light {\n${vars(HC_LIGHT)}\n}\nhtml, body { background: var(--vscode-editor-background); }\n`;
}

/** Builds the webview bundle into `outDir` with scripts/build-webview.mjs. */
export function buildWebviewInto(outDir: string): void {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-webview.mjs'), outDir], {
    cwd: ROOT,
    stdio: 'pipe',
  });
}

export interface Harness {
  page: Page;
  url: string;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  post(msg: unknown): Promise<void>;
  /** The page's test state (the monitor's once settled). */
  state(): Promise<any>;
  sent(): Promise<any[]>;
  close(): Promise<void>;
}

/** The pages of the bundle: the monitor (webview.js) and the comparison tab (compare.js), and their test globals. */
const PAGES = {
  monitor: { file: 'webview', global: '__layerRotationMonitor' },
  compare: { file: 'compare', global: '__layerRotationCompare' },
} as const;

export async function startHarness(
  opts: {
    width?: number;
    height?: number;
    theme?: ThemeClass;
    page?: keyof typeof PAGES;
    /** A bundle already built (tests that open several pages build once). */
    dist?: string;
  } = {},
): Promise<Harness> {
  const { file: entry, global: g } = PAGES[opts.page ?? 'monitor'];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lrm-webview-'));
  const out = opts.dist ?? path.join(tmp, 'dist');
  if (!opts.dist) buildWebviewInto(out);

  const nonce = crypto.randomBytes(16).toString('base64url');
  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const html = monitorHtml({
        scriptUri: `${origin}/${entry}.js`,
        styleUri: `${origin}/${entry}.css`,
        cspSource: origin,
        nonce,
        title: 'Layer Rotation Monitor',
      })
        .replace('</head>', `<style nonce="${nonce}">\n${themeCss()}</style>\n</head>`)
        .replace('<body>', `<body class="${opts.theme ?? 'vscode-dark'}">`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    const file = /^\/((webview|compare)\.(js|css)(\.map)?)$/.exec(url.pathname)?.[1];
    if (file && fs.existsSync(path.join(out, file))) {
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/json';
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8` });
      res.end(fs.readFileSync(path.join(out, file)));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A fresh profile and home: nothing of the machine's own Chromium set-up leaks in or out.
  const home = path.join(tmp, 'home');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
  });
  for (const d of [env.XDG_CONFIG_HOME, env.XDG_CACHE_HOME, env.XDG_DATA_HOME]) fs.mkdirSync(d, { recursive: true });
  const context: BrowserContext = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    env,
    viewport: { width: opts.width ?? 980, height: opts.height ?? 900 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || (m.type() === 'warning' && /Content Security Policy|Refused/i.test(m.text())))
      problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => { (window.__cspViolations ??= []).push(e.violatedDirective + ' ' + e.blockedURI); });",
  );
  await page.goto(`${origin}/`);
  await page.waitForFunction(`window.${g} !== undefined && (window.${g}Sent || []).length > 0`);

  return {
    page,
    url: `${origin}/`,
    problems,
    // As JSON text: Playwright's own argument serialization is slow for 100,000s of numbers.
    post: async (msg) => {
      await page.evaluate(([name, json]) => (globalThis as any)[`${name}Post`](JSON.parse(json)), [
        g,
        JSON.stringify(msg),
      ] as const);
    },
    // The monitor's state once every panel shows what was drawn (new charts draw their curves
    // first, the other panels in the next frame: `settled`).
    state: async () => {
      // (A function, not a string: the page's CSP forbids eval.)
      await page.waitForFunction((name) => (globalThis as any)[name]?.settled !== false, g);
      return page.evaluate(`window.${g}`);
    },
    sent: () => page.evaluate(`window.${g}Sent`) as Promise<any[]>,
    close: async () => {
      await context.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** CSP violations recorded in the page. */
export async function cspViolations(page: Page): Promise<string[]> {
  return (await page.evaluate('window.__cspViolations || []')) as string[];
}

/**
 * The text shown by each element `loc` matches, as a reader sees it: each scrolled into view
 * first (the layer table's rows off the screen are not rendered, content-visibility: auto, so
 * their innerText is empty until then), read after the frame that renders it (two frames, or
 * up to 20 while it shows no text).
 */
export async function shownTexts(loc: Locator): Promise<string[]> {
  const out: string[] = [];
  const n = await loc.count();
  for (let i = 0; i < n; i++) {
    const one = loc.nth(i);
    await one.scrollIntoViewIfNeeded();
    out.push(
      // (In the page: its DOM, not this file's types.)
      // (Up to 20 frames: a row scrolled into view is found relevant in one frame, rendered in a
      // later one; a loaded machine can take more than two.)
      await one.evaluate(async (e: any) => {
        const w = globalThis as any;
        const frame = () => new Promise((res) => w.requestAnimationFrame(res));
        await frame();
        await frame();
        for (let i = 0; i < 18 && e.isConnected && e.innerText === ''; i++) await frame();
        return e.innerText as string;
      }),
    );
  }
  return out;
}

/** The text shown by the one element `loc` matches (shownTexts). */
export async function shownText(loc: Locator): Promise<string> {
  const texts = await shownTexts(loc);
  if (texts.length !== 1) throw new Error(`${texts.length} elements match ${loc}, not one`);
  return texts[0];
}
