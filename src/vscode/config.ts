// A typed view of the extension's settings (layerRotation.*).
import * as path from 'path';
import * as vscode from 'vscode';
import type { BackendName } from '../engine/config/types';

const SECTION = 'layerRotation';

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** The backend to force, or undefined to use the config's own `backend` field. */
  get backend(): BackendName | undefined {
    const b = this.cfg.get<string>('backend', 'config');
    return b === 'config' ? undefined : (b as BackendName);
  }

  /** The runs folder for a config in `folder` (a workspace folder, or the config's folder). */
  runsFolder(folder: string): string {
    const setting = this.cfg.get<string>('runsFolder', 'runs') || 'runs';
    return path.isAbsolute(setting) ? setting : path.join(folder, setting);
  }

  get target(): number {
    return this.cfg.get<number>('target', 1);
  }

  get lagMargin(): number {
    return this.cfg.get<number>('lagMargin', 0.2);
  }

  get recordsPerEpoch(): number | undefined {
    return this.cfg.get<number | null>('recordsPerEpoch', null) ?? undefined;
  }

  static affects(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration(SECTION);
  }
}
