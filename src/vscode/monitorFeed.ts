// What the extension host posts to a monitor webview about a run (webview/protocol.ts's load and
// append), without VS Code (tests read it in Node): every event of its log in order, and for a run
// of more than MAX_LAYERS_KEPT layers only the layers the monitor keeps (src/runlog/layerCap.ts:
// the lagging ones by its run_finished, the first, the last, evenly spaced ones), with the message
// saying which; so a record of a million layers crosses as a thousand values.
import type { RunEvent } from '../runlog/events';
import { keepLayers, keptLayers } from '../runlog/layerCap';
import { MAX_RECORDS, type RunLog } from '../runlog/read';
import type { HostMessage, LayerSubset } from '../../webview/protocol';

/** Every event of a log, in the order a reader would have seen them. */
export function eventsOf(log: RunLog): RunEvent[] {
  const all: RunEvent[] = [
    ...(log.started ? [log.started] : []),
    ...log.logs,
    ...log.rotations,
    ...log.batches,
    ...log.epochs,
    // The first-layer features: the reader keeps the first snapshot and the latest.
    ...(log.features
      ? log.features.first === log.features.last
        ? [log.features.first]
        : [log.features.first, log.features.last]
      : []),
    ...(log.finished ? [log.finished] : []),
  ];
  return all.sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
}

/** One webview's feed: per run, the layers its messages keep. */
export class MonitorFeed {
  private readonly subsets = new Map<string, LayerSubset>();
  /** Records appended per run since its last 'load'. */
  private readonly appended = new Map<string, number>();

  /** The whole of a run, as a 'load' (the layers kept, when not all). */
  load(runId: string, log: RunLog): HostMessage {
    this.subsets.delete(runId);
    this.appended.delete(runId);
    const started = log.started;
    const kept = started ? keptLayers(started, log.finished) : null;
    if (!started || !kept) return { type: 'load', runId, events: eventsOf(log) };
    const layers = { total: started.layers.length, indices: kept };
    this.subsets.set(runId, layers);
    return { type: 'load', runId, events: eventsOf(log).map((e) => keepLayers(e, kept)), layers };
  }

  /** New events of a run, as its messages keep them (a run_started sets which layers). */
  keep(runId: string, events: readonly RunEvent[], into: RunEvent[]): void {
    for (const e of events) {
      // (one by one, not push(...events): a long chunk would overflow the stack)
      if (e.type === 'run_started') {
        const kept = keptLayers(e);
        if (kept) this.subsets.set(runId, { total: e.layers.length, indices: kept });
        else this.subsets.delete(runId);
      }
      const sub = this.subsets.get(runId);
      into.push(sub ? keepLayers(e, sub.indices) : e);
    }
  }

  /** An 'append' of events `keep` gave. */
  append(runId: string, events: RunEvent[]): HostMessage {
    const layers = this.subsets.get(runId);
    return layers ? { type: 'append', runId, events, layers } : { type: 'append', runId, events };
  }

  /**
   * New events of a run for the webview: an 'append' of them, or, once more than MAX_RECORDS
   * records were appended since the run's last 'load', the run whole again from `log` (which
   * keeps at most MAX_RECORDS records of a kind, evenly sampled: src/runlog/read.ts), so that
   * the webview's store of a long live run stays bounded too.
   */
  update(runId: string, events: RunEvent[], log: RunLog | undefined): HostMessage {
    let records = this.appended.get(runId) ?? 0;
    for (const e of events) if (e.type !== 'log') records++;
    if (records > MAX_RECORDS && log) return this.load(runId, log);
    this.appended.set(runId, records);
    return this.append(runId, events);
  }

  /** Forgets a run (it is sent whole again). */
  forget(runId: string): void {
    this.subsets.delete(runId);
    this.appended.delete(runId);
  }
}
