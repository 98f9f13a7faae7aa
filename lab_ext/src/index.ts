/**
 * 智算 Lab in JupyterLab: the sidebar (Compute, Runs, Templates, Cases), a status bar item,
 * palette commands, launcher tiles for templates, settings and translations.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PathExt, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Token } from '@lumino/coreutils';

import type { LabActions } from './actions';
import { ZslabApi } from './api';
import { DEFAULT_SETTINGS, LabModel, type LabSettings } from './model';
import { casePanel, SidebarWidget, StatusWidget, zslabIcon } from './widgets';

const PACKAGE = 'zslab-labextension';
/** The translation domain: `zslab/locale/<lang>/LC_MESSAGES/zslab.json`. */
const DOMAIN = 'zslab';
/** Folder of the contents root where executed notebooks of runs are saved. */
const RUNS_FOLDER = 'zslab-runs';

export const CommandIDs = {
  open: 'zslab:open',
  openCompute: 'zslab:open-compute',
  requestCompute: 'zslab:request-compute',
  openRuns: 'zslab:open-runs',
  openTemplates: 'zslab:open-templates',
  openCases: 'zslab:open-cases',
  openTemplate: 'zslab:open-template',
  openRunNotebook: 'zslab:open-run-notebook',
  openCase: 'zslab:open-case',
  publishCase: 'zslab:publish-case',
  refresh: 'zslab:refresh'
} as const;

/** What the core plugin shares with the status bar and launcher plugins. */
export interface IZslabLab {
  model: LabModel;
  trans: TranslationBundle;
}

export const IZslabLab = new Token<IZslabLab>(`${PACKAGE}:IZslabLab`, 'The 智算 Lab model');

const core: JupyterFrontEndPlugin<IZslabLab> = {
  id: `${PACKAGE}:plugin`,
  description: '智算 Lab sidebar, commands and settings.',
  autoStart: true,
  requires: [ITranslator],
  optional: [ISettingRegistry, ICommandPalette, IDocumentManager],
  provides: IZslabLab,
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    docManager: IDocumentManager | null
  ): IZslabLab => {
    const trans = (translator ?? nullTranslator).load(DOMAIN);
    const model = new LabModel(new ZslabApi(app.serviceManager.serverSettings));
    const { commands } = app;

    const openPath = (path: string) => {
      if (docManager) {
        docManager.openOrReveal(path);
      } else {
        void commands.execute('docmanager:open', { path });
      }
    };
    const actions: LabActions = {
      openPath,
      async openRunNotebook(runId: string) {
        const content = JSON.parse(await model.api.artifactText(runId, 'executed.ipynb'));
        const contents = app.serviceManager.contents;
        await contents
          .get(RUNS_FOLDER, { content: false })
          .catch(() => contents.save(RUNS_FOLDER, { type: 'directory' }));
        const path = PathExt.join(RUNS_FOLDER, `${runId}.ipynb`);
        await contents.save(path, { type: 'notebook', format: 'json', content });
        openPath(path);
      },
      openCase(slug: string, where: 'panel' | 'gallery') {
        if (where === 'gallery') {
          const url = `${model.galleryUrl.replace(/\/$/, '')}/${encodeURIComponent(slug)}`;
          window.open(url, '_blank', 'noopener');
          return;
        }
        // In a panel: the same page through this server (/zslab/gallery), which lets the lab
        // frame it; the hub's own gallery refuses framing by other origins.
        const url = URLExt.join(
          ServerConnection.makeSettings().baseUrl,
          'zslab/gallery/cases',
          encodeURIComponent(slug)
        );
        const id = `zslab-case-${slug}`;
        const existing = [...app.shell.widgets('main')].find(w => w.id === id);
        if (existing) {
          app.shell.activateById(id);
          return;
        }
        app.shell.add(casePanel(url, slug, trans), 'main');
      }
    };

    const sidebar = new SidebarWidget(model, trans, actions);
    app.shell.add(sidebar, 'left', { rank: 300 });
    const show = (section: Parameters<LabModel['showSection']>[0], options = {}) => {
      app.shell.activateById(sidebar.id);
      model.showSection(section, options);
    };

    commands.addCommand(CommandIDs.open, {
      label: trans.__('Open 智算 Lab'),
      icon: zslabIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });
    commands.addCommand(CommandIDs.openCompute, {
      label: trans.__('智算 Lab: Compute'),
      execute: () => show('compute')
    });
    commands.addCommand(CommandIDs.requestCompute, {
      label: trans.__('智算 Lab: Request Compute…'),
      execute: () => show('compute', { request: true })
    });
    commands.addCommand(CommandIDs.openRuns, {
      label: trans.__('智算 Lab: Template Runs'),
      execute: () => show('runs')
    });
    commands.addCommand(CommandIDs.openTemplates, {
      label: trans.__('智算 Lab: Templates'),
      execute: () => show('templates')
    });
    commands.addCommand(CommandIDs.openCases, {
      label: trans.__('智算 Lab: Cases'),
      execute: () => show('cases')
    });
    commands.addCommand(CommandIDs.openTemplate, {
      label: args => (args.title as string) || (args.name as string) || trans.__('Template'),
      caption: args => trans.__('Open the template %1 in 智算 Lab', (args.name as string) ?? ''),
      icon: zslabIcon,
      execute: args => show('templates', { template: args.name as string })
    });
    commands.addCommand(CommandIDs.openRunNotebook, {
      label: trans.__('Open the Executed Notebook of a Run'),
      execute: args => actions.openRunNotebook(args.runId as string)
    });
    commands.addCommand(CommandIDs.openCase, {
      label: trans.__('Open a Case'),
      execute: args =>
        actions.openCase(args.slug as string, args.where === 'gallery' ? 'gallery' : 'panel')
    });
    commands.addCommand(CommandIDs.publishCase, {
      label: trans.__('智算 Lab: Publish Runs as a Case…'),
      execute: () => {
        app.shell.activateById(sidebar.id);
        model.requestPublish();
      }
    });
    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('智算 Lab: Refresh'),
      execute: () =>
        Promise.all([model.refreshCompute(), model.refreshRuns(), model.loadTemplates()])
    });

    if (palette) {
      const category = trans.__('智算 Lab');
      for (const command of [
        CommandIDs.open,
        CommandIDs.openCompute,
        CommandIDs.requestCompute,
        CommandIDs.openRuns,
        CommandIDs.openTemplates,
        CommandIDs.openCases,
        CommandIDs.publishCase,
        CommandIDs.refresh
      ]) {
        palette.addItem({ command, category });
      }
    }

    const applySettings = (settings: ISettingRegistry.ISettings) => {
      const get = <K extends keyof LabSettings>(key: K): LabSettings[K] =>
        (settings.get(key).composite as LabSettings[K]) ?? DEFAULT_SETTINGS[key];
      model.updateSettings({
        hubUrl: get('hubUrl'),
        heartbeatIntervalSeconds: get('heartbeatIntervalSeconds'),
        pollSeconds: get('pollSeconds')
      });
    };
    const settingsLoaded = settingRegistry
      ? settingRegistry
          .load(core.id)
          .then(settings => {
            applySettings(settings);
            settings.changed.connect(applySettings);
          })
          .catch(reason => console.error('zslab: could not load settings', reason))
      : Promise.resolve();
    void Promise.all([app.restored, settingsLoaded]).then(() => model.start());

    return { model, trans };
  }
};

const statusBar: JupyterFrontEndPlugin<void> = {
  id: `${PACKAGE}:status-bar`,
  description: 'The active lease, remaining time and cost in the status bar.',
  autoStart: true,
  requires: [IZslabLab, IStatusBar],
  activate: (app: JupyterFrontEnd, lab: IZslabLab, statusBar: IStatusBar) => {
    const item = new StatusWidget(
      lab.model,
      lab.trans,
      () => void app.commands.execute(CommandIDs.openCompute)
    );
    statusBar.registerStatusItem(`${PACKAGE}:status-bar`, {
      item,
      align: 'left',
      rank: 50,
      isActive: () => true
    });
  }
};

const launcher: JupyterFrontEndPlugin<void> = {
  id: `${PACKAGE}:launcher`,
  description: 'Launcher tiles for the templates.',
  autoStart: true,
  requires: [IZslabLab, ILauncher],
  activate: (_app: JupyterFrontEnd, lab: IZslabLab, launcher: ILauncher) => {
    const added = new Map<string, { dispose(): void }>();
    const sync = () => {
      for (const [rank, template] of lab.model.templates.entries()) {
        if (!added.has(template.name)) {
          added.set(
            template.name,
            launcher.add({
              command: CommandIDs.openTemplate,
              args: { name: template.name, title: template.title },
              category: lab.trans.__('智算 Lab'),
              rank
            })
          );
        }
      }
    };
    lab.model.changed.connect(sync);
    sync();
  }
};

export default [core, statusBar, launcher];
