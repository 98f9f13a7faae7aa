import React from 'react';

import type { SectionProps } from '../actions';
import { useModel } from '../hooks';
import { Notice } from './Notice';
import { TemplateForm } from './TemplateForm';

/** Template cards; a chosen template shows its parameter form, run on a lease or open as a notebook. */
export function TemplatesPanel(
  props: SectionProps & { selected?: string; onSelect: (name: string | undefined) => void }
): JSX.Element {
  const model = useModel(props.model);
  const { trans } = props;
  const template = model.templates.find(t => t.name === props.selected);

  return (
    <div className="zslab-panel" data-testid="zslab-templates-panel">
      {template ? (
        <TemplateForm {...props} template={template} onBack={() => props.onSelect(undefined)} />
      ) : (
        <>
          <div className="zslab-section-head">
            <h2>{trans.__('Templates')}</h2>
            <button
              className="jp-mod-styled zslab-button"
              data-testid="zslab-refresh-templates"
              onClick={() => void model.loadTemplates()}
            >
              {trans.__('Refresh')}
            </button>
          </div>
          {model.templates.length === 0 ? (
            <div className="zslab-empty" data-testid="zslab-templates-empty">
              {trans.__('No templates found.')}
            </div>
          ) : (
            <ul className="zslab-cards" data-testid="zslab-templates">
              {model.templates.map(t => (
                <li
                  key={t.name}
                  className="zslab-card"
                  data-testid="zslab-template-card"
                  data-template={t.name}
                >
                  <button
                    className="zslab-card-button"
                    data-testid="zslab-template-choose"
                    onClick={() => props.onSelect(t.name)}
                  >
                    <strong>{t.title}</strong>
                    <span className="zslab-muted">{t.name}</span>
                    <span className="zslab-card-text">{t.description.split('\n')[0]}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
          <Notice kind="error" text={model.error} testid="zslab-error" />
        </>
      )}
    </div>
  );
}
