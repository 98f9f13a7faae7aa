/** Lumino widgets that host the React views, and the case panel. */
import React from 'react';
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { IFrame, LabIcon, ReactWidget } from '@jupyterlab/ui-components';

import type { LabActions } from './actions';
import { Sidebar } from './components/Sidebar';
import { StatusItem } from './components/StatusItem';
import type { LabModel } from './model';

export const zslabIcon = new LabIcon({
  name: 'zslab:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<path d="M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4z"/><path d="M13 13h7v7h-7z" opacity=".5"/></g></svg>'
});

export class SidebarWidget extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly trans: TranslationBundle,
    private readonly actions: LabActions
  ) {
    super();
    this.id = 'zslab-sidebar';
    this.addClass('zslab-sidebar-widget');
    this.node.dataset.testid = 'zslab-sidebar';
    this.title.icon = zslabIcon;
    this.title.caption = trans.__('智算 Lab');
  }

  protected render(): JSX.Element {
    return <Sidebar model={this.model} trans={this.trans} actions={this.actions} />;
  }
}

export class StatusWidget extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly trans: TranslationBundle,
    private readonly onOpen: () => void
  ) {
    super();
    this.id = 'zslab-status';
    this.addClass('zslab-status-widget');
  }

  protected render(): JSX.Element {
    return <StatusItem model={this.model} trans={this.trans} onClick={this.onOpen} />;
  }
}

/** A case's gallery page in the main area; the gallery is script-free HTML, so no scripts run. */
export function casePanel(
  url: string,
  slug: string,
  trans: TranslationBundle
): MainAreaWidget<IFrame> {
  // Same-origin (served by this server) and script-free (CSP + no allow-scripts): links inside
  // work with the lab's cookie; nothing in the page can run.
  const frame = new IFrame({
    sandbox: [
      'allow-same-origin',
      'allow-popups',
      'allow-popups-to-escape-sandbox' as IFrame.SandboxExceptions
    ],
    referrerPolicy: 'no-referrer'
  });
  frame.url = url;
  const panel = new MainAreaWidget({ content: frame });
  panel.id = `zslab-case-${slug}`;
  panel.node.dataset.testid = 'zslab-case-panel';
  panel.title.label = trans.__('Case %1', slug);
  panel.title.icon = zslabIcon;
  panel.title.closable = true;
  return panel;
}
