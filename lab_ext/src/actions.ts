/** What views ask of JupyterLab itself (documents, main-area panels); index.ts provides it. */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { LabModel } from './model';

export interface LabActions {
  /** Fetch a run's executed notebook into `zslab-runs/<id>.ipynb` and open it. */
  openRunNotebook(runId: string): Promise<void>;
  /** Open a notebook path of the Jupyter contents root. */
  openPath(path: string): void;
  /** Show a case in a main-area panel or in the gallery (a new browser tab). */
  openCase(slug: string, where: 'panel' | 'gallery'): void;
}

/** The props every section gets. */
export interface SectionProps {
  model: LabModel;
  trans: TranslationBundle;
  actions: LabActions;
}
