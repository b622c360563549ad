// The config checker's worker thread (bundled as dist/configCheck.js): checks a config's text with
// parseConfigText off the extension host's main thread, one request at a time, and answers with
// its problems. checker.ts starts it and talks to it.
import { parentPort } from 'node:worker_threads';
import { parseConfigText } from './parse';
import type { CheckReply, CheckRequest } from './checker';

parentPort?.on('message', (req: CheckRequest) => {
  let reply: CheckReply;
  try {
    reply = { id: req.id, errors: parseConfigText(req.text, req.file).errors };
  } catch (e) {
    reply = { id: req.id, errors: [], failure: e instanceof Error ? e.message : String(e) };
  }
  parentPort?.postMessage(reply);
});
