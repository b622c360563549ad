// The monitor webview's page: the extension host and the browser tests both serve this HTML.
// Pure (no DOM, no vscode): the host passes its webview URIs, CSP source and a fresh nonce.

export interface MonitorHtmlOptions {
  /** URI of dist/webview.js as the webview sees it (asWebviewUri). */
  scriptUri: string;
  /** URI of dist/webview.css as the webview sees it. */
  styleUri: string;
  /** webview.cspSource. */
  cspSource: string;
  /** A fresh random nonce (letters and digits) for each page. */
  nonce: string;
  title: string;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** The content security policy of the page: nothing but the extension's own script and styles. */
export function monitorCsp(cspSource: string, nonce: string): string {
  return `default-src 'none'; style-src ${cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src ${cspSource} data:; font-src ${cspSource};`;
}

export function monitorHtml({ scriptUri, styleUri, cspSource, nonce, title }: MonitorHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{8,}$/.test(nonce))
    throw new Error('monitorHtml: the nonce must be at least 8 letters or digits');
  const csp = escapeHtml(monitorCsp(cspSource, nonce));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${nonce}" href="${escapeHtml(styleUri)}">
<title>${escapeHtml(title)}</title>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${escapeHtml(scriptUri)}"></script>
</body>
</html>
`;
}
