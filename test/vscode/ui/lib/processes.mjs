// Processes seen from outside the extension host, through /proc (Linux).
import { readdirSync, readFileSync } from 'node:fs';

/** /proc/PID/FILE as text, or null when the process is gone. */
export function readProc(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return null;
  }
}

/**
 * Live runner processes (runner.js, or the PyTorch engine's `-m layer_rotation train`) whose
 * command line names a folder under `dir`, or `dir` itself (a sweep job's warm runner): pid, ppid
 * and run id (none for a warm runner).
 */
export function runners(dir) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = readProc(entry, 'cmdline');
    if (
      !cmdline ||
      !/runner\.js\0|\0layer_rotation\0train\0/.test(cmdline) ||
      !(cmdline.includes(`${dir}/`) || cmdline.includes(`"${dir}"`))
    )
      continue;
    const stat = readProc(entry, 'stat');
    if (!stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') continue;
    const runId = /"runId":"([^"]+)"|\0--run-id\0([^\0]+)/.exec(cmdline)?.slice(1).find(Boolean);
    found.push({ pid: Number(entry), ppid: Number(fields[1]), runId });
  }
  return found;
}
