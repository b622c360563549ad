// A typed view of the extension's settings (layerRotation.*).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isBackendName } from '../engine/backend/names';
import type { BackendName, EngineSetting } from '../engine/config/types';
import { isEngineSetting } from '../launch/engineChoice';

const SECTION = 'layerRotation';

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** The backend to force, or undefined to use the config's own `backend` field. */
  get backend(): BackendName | undefined {
    const b = this.cfg.get<string>('backend', 'config');
    return isBackendName(b) ? b : undefined;
  }

  /** The runs folder for a config in `folder` (a workspace folder, or the config's folder). */
  runsFolder(folder: string): string {
    const setting = this.cfg.get<string>('runsFolder', 'runs') || 'runs';
    return path.isAbsolute(setting) ? setting : path.join(folder, setting);
  }

  get recordsPerEpoch(): number | undefined {
    return this.cfg.get<number | null>('recordsPerEpoch', null) ?? undefined;
  }

  /** The engine to force (auto, tfjs or pytorch), or undefined to use the config's own `engine` field. */
  get engine(): EngineSetting | undefined {
    const e = this.cfg.get<string>('engine', 'config');
    return isEngineSetting(e) ? e : undefined;
  }

  /** The Python interpreter set for the pytorch engine ('' when unset). */
  get pythonPath(): string {
    return (this.cfg.get<string>('pythonPath', '') ?? '').trim();
  }

  /** Data-parallel processes of the pytorch engine, or undefined to use the config's. */
  get pytorchProcesses(): number | undefined {
    return this.cfg.get<number | null>('pytorch.processes', null) ?? undefined;
  }

  /** Extra folders to watch for run logs (absolute; relative ones resolved against `base`). */
  watchFolders(base: string | undefined): string[] {
    const folders = this.cfg.get<string[]>('watch.folders', []) ?? [];
    return folders.filter(Boolean).map((f) => (path.isAbsolute(f) || !base ? f : path.join(base, f)));
  }

  get watchGlob(): string {
    return this.cfg.get<string>('watch.glob', '**/events.jsonl') || '**/events.jsonl';
  }

  get watchExclude(): string[] {
    return this.cfg.get<string[]>('watch.exclude', ['**/node_modules/**', '**/.git/**']) ?? [];
  }

  get watchUsePolling(): boolean {
    return this.cfg.get<boolean>('watch.usePolling', false);
  }

  static affects(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration(SECTION);
  }
}
