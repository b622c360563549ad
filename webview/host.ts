// The webviews' link to the extension host: VS Code's webview API when there is one; in a plain
// page (tests, benchmarks) the messages sent are recorded in `sent` and host messages are injected.

export interface Host<Out> {
  post(m: Out): void;
  getState(): unknown;
  setState(s: unknown): void;
  /** True in a plain page without VS Code. */
  standalone: boolean;
}

/** Connects to VS Code, or records what a plain page sends into `sent`. */
export function connectHost<Out>(sent: Out[]): Host<Out> {
  if (typeof acquireVsCodeApi === 'function') {
    const vscode = acquireVsCodeApi();
    return {
      post: (m) => vscode.postMessage(m),
      getState: () => vscode.getState(),
      setState: (s) => vscode.setState(s),
      standalone: false,
    };
  }
  let state: unknown;
  return { post: (m) => void sent.push(m), getState: () => state, setState: (s) => void (state = s), standalone: true };
}
