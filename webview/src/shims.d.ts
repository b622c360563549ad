// src/runlog/events.ts imports 'fs' for its log writer; the webview only takes its types.
declare module 'fs';

/** Given to webviews by VS Code; absent in a plain browser page (the tests). */
declare function acquireVsCodeApi(): {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
};
