// Processes seen from a test: whether one is still alive (Linux /proc), and waiting.
import * as fs from 'node:fs';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether process `pid` runs: it exists and is not a zombie (exited, not reaped by its dead parent's reaper yet). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim()[0] !== 'Z';
  } catch {
    return false;
  }
}
