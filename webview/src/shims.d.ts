/** Given to webviews by VS Code; absent in a plain browser page (the tests). */
declare function acquireVsCodeApi(): {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
};
