// The run header: name, status, backend, progress, speed, time left, test accuracy, the Stop
// button while the run goes, and why it ended when it failed.
import type { RunListItem, RunListStatus } from '../protocol';
import { el, fmtDuration, fmtInt, fmtPct, setText, show } from './dom';
import type { RunStore } from './store';

export type ShownStatus = RunListStatus | 'waiting';

/** The status to show: the run's own end event wins, then what the host says, then a guess. */
export function runStatus(store: RunStore, item: RunListItem | undefined): ShownStatus {
  if (store.finished) return store.finished.status;
  if (item) return item.status;
  return store.info ? 'running' : 'waiting';
}

function stat(parent: HTMLElement, label: string): { box: HTMLElement; value: HTMLElement } {
  const box = el('div', 'stat');
  box.appendChild(el('div', 'stat-label', label));
  const value = el('div', 'stat-value', '–');
  box.appendChild(value);
  parent.appendChild(box);
  return { box, value };
}

export class Header {
  readonly root: HTMLElement;
  private readonly name: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly outsideBadge: HTMLElement;
  private readonly stop: HTMLElement;
  private readonly config: HTMLElement;
  private readonly sub: HTMLElement;
  private readonly progressTrack: HTMLElement;
  private readonly progressFill: HTMLElement;
  private readonly progress: { box: HTMLElement; value: HTMLElement };
  private readonly speed: { box: HTMLElement; value: HTMLElement };
  private readonly left: { box: HTMLElement; value: HTMLElement };
  private readonly accuracy: { box: HTMLElement; value: HTMLElement };
  private readonly accuracyLabel: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly logs: HTMLElement;
  private runId: string | null = null;
  private readonly stopping = new Set<string>();

  constructor(parent: HTMLElement, onStop: (runId: string) => void, onOpenConfig: (runId: string) => void) {
    this.root = el('header', 'run-header');
    const title = el('div', 'title-row');
    this.name = el('h2', 'run-name');
    this.badge = el('vscode-badge', 'status-badge');
    this.outsideBadge = el('vscode-badge', 'status-badge outside-badge');
    setText(this.outsideBadge, 'outside');
    this.outsideBadge.title =
      'An outside run: its log is written by another program (a script with the layer_rotation logger, a job on another machine); the monitor follows the file as it grows';
    this.config = el('a', 'config-link', 'config');
    this.config.setAttribute('href', '#');
    this.config.title = 'Open the config of this run';
    this.config.addEventListener('click', (ev) => {
      ev.preventDefault();
      if (this.runId) onOpenConfig(this.runId);
    });
    this.stop = el('vscode-button', 'stop-button', 'Stop');
    this.stop.setAttribute('secondary', '');
    this.stop.title = 'Stop the run after the current step (its summary is still written)';
    this.stop.addEventListener('click', () => {
      if (!this.runId || this.stopping.has(this.runId)) return;
      this.stopping.add(this.runId);
      this.stop.setAttribute('disabled', '');
      setText(this.stop, 'Stopping…');
      onStop(this.runId);
    });
    title.append(this.name, this.badge, this.outsideBadge, this.config, el('span', 'spacer'), this.stop);
    this.sub = el('div', 'run-sub');
    this.progressTrack = el('div', 'progress-track');
    this.progressTrack.setAttribute('role', 'progressbar');
    this.progressTrack.setAttribute('aria-valuemin', '0');
    this.progressTrack.setAttribute('aria-valuemax', '100');
    this.progressFill = el('div', 'progress-fill');
    this.progressTrack.appendChild(this.progressFill);
    const stats = el('div', 'stats');
    this.progress = stat(stats, 'Progress');
    this.speed = stat(stats, 'Speed');
    this.left = stat(stats, 'Time left');
    this.accuracy = stat(stats, 'Test accuracy');
    this.accuracyLabel = this.accuracy.box.firstElementChild as HTMLElement;
    this.banner = el('div', 'banner');
    this.banner.setAttribute('role', 'status');
    this.logs = el('ul', 'log-list');
    this.root.append(title, this.sub, this.progressTrack, stats, this.banner, this.logs);
    parent.appendChild(this.root);
  }

  update(store: RunStore, item: RunListItem | undefined): void {
    const info = store.info;
    const status = runStatus(store, item);
    this.runId = store.runId;
    setText(this.name, info?.name ?? item?.name ?? store.runId);
    this.name.title = store.runId;
    setText(this.badge, status);
    this.badge.className = `status-badge status-${status}`;
    show(this.outsideBadge, !!item?.outside);
    show(this.config, !!info?.configFile);

    const running = status === 'running';
    if (!running) this.stopping.delete(store.runId);
    const stopping = this.stopping.has(store.runId);
    this.stop.toggleAttribute('disabled', stopping);
    setText(this.stop, stopping ? 'Stopping…' : 'Stop');
    // Only runs this window started can be stopped from here.
    show(this.stop, running && (item ? item.live : true));

    const parts: string[] = [];
    if (info) {
      parts.push(info.backendDescription || info.backend);
      if (info.dataset.name) parts.push(info.dataset.name);
      if (info.model) parts.push(info.model);
      if (info.optimizer) parts.push(info.optimizer);
      parts.push(`${info.layers.length} layer${info.layers.length === 1 ? '' : 's'}`);
      if (info.engine && info.engine !== 'tfjs') parts.unshift(info.engine);
    }
    setText(this.sub, parts.join(' · '));

    const step = store.lastStep();
    const total = info?.totalSteps ?? NaN;
    const spe = info?.stepsPerEpoch ?? NaN;
    const frac = Number.isFinite(total) && total > 0 ? Math.min(1, step / total) : 0;
    this.progressFill.style.width = `${(frac * 100).toFixed(2)}%`;
    this.progressTrack.setAttribute('aria-valuenow', (frac * 100).toFixed(0));
    this.progressTrack.classList.toggle('done', status !== 'running');
    show(this.progressTrack, !!info);
    if (info) {
      const epochs = info.epochs;
      const epochNow =
        status === 'running'
          ? Math.min(epochs, Math.floor(step / spe) + 1)
          : Math.min(epochs, Math.ceil(step / spe - 1e-9));
      setText(this.progress.value, `epoch ${epochNow} of ${epochs} · step ${fmtInt(step)} / ${fmtInt(total)}`);
    } else setText(this.progress.value, '–');

    const rate = store.stepRate();
    const lastEpoch = store.epochs[store.epochs.length - 1];
    const batch = info?.batchSize ?? Number.NaN;
    const sps =
      running && rate && Number.isFinite(batch)
        ? rate.stepsPerSecond * batch
        : (lastEpoch?.samplesPerSecond ?? (rate && Number.isFinite(batch) ? rate.stepsPerSecond * batch : NaN));
    setText(this.speed.value, Number.isFinite(sps) ? `${fmtInt(sps)} samples/s` : '–');

    if (running) {
      const secs = rate ? (total - step) / rate.stepsPerSecond : NaN;
      setText(this.left.box.firstElementChild as HTMLElement, 'Time left');
      setText(this.left.value, Number.isFinite(secs) ? `≈ ${fmtDuration(Math.max(0, secs))}` : 'estimating…');
    } else {
      setText(this.left.box.firstElementChild as HTMLElement, 'Duration');
      setText(this.left.value, fmtDuration(store.finished?.seconds));
    }

    const test = store.finished?.testAccuracy;
    if (test !== null && test !== undefined) {
      setText(this.accuracyLabel, 'Test accuracy');
      setText(this.accuracy.value, fmtPct(test, 2));
    } else {
      setText(this.accuracyLabel, 'Validation accuracy');
      setText(this.accuracy.value, lastEpoch ? fmtPct(lastEpoch.valAccuracy, 2) : '–');
    }

    const f = store.finished;
    if (f && (status === 'failed' || status === 'stopped' || status === 'completed')) {
      const what = status === 'failed' ? 'Failed' : status === 'stopped' ? 'Stopped' : 'Completed';
      setText(this.banner, f.reason ? `${what}: ${f.reason}` : what);
      this.banner.className = `banner banner-${status}`;
      this.banner.setAttribute('role', status === 'failed' ? 'alert' : 'status');
      show(this.banner, true);
    } else if (status === 'unfinished') {
      setText(this.banner, 'Unfinished: the log ends without run_finished and no process is writing it.');
      this.banner.className = 'banner banner-stopped';
      show(this.banner, true);
    } else show(this.banner, false);

    const notes = store.logs.filter((l) => l.level !== 'info').slice(-3);
    const key = notes.map((n) => n.level + n.message).join('\n');
    if (this.logs.dataset.key !== key) {
      this.logs.dataset.key = key;
      this.logs.replaceChildren(...notes.map((n) => el('li', `log-${n.level}`, n.message)));
    }
    show(this.logs, notes.length > 0);
  }
}
