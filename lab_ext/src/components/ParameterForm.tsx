import React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';

import type { ParameterError } from '../format';
import type { TemplateParameterRead } from '../types';

/** One field per template parameter, typed from its default; errors under each field. */
export function ParameterForm(props: {
  parameters: TemplateParameterRead[];
  texts: Record<string, string>;
  errors: ParameterError[];
  trans: TranslationBundle;
  onChange: (name: string, text: string) => void;
}): JSX.Element {
  const { trans } = props;
  if (props.parameters.length === 0) {
    return <div className="zslab-muted">{trans.__('This template has no parameters.')}</div>;
  }
  return (
    <div className="zslab-params" data-testid="zslab-template-params">
      {props.parameters.map(p => {
        const text = props.texts[p.name] ?? '';
        const error = props.errors.find(e => e.name === p.name);
        const common = {
          id: `zslab-param-${p.name}`,
          'data-testid': `zslab-param-${p.name}`,
          'aria-invalid': error ? true : undefined
        };
        let control: JSX.Element;
        if (p.type === 'bool') {
          control = (
            <input
              {...common}
              type="checkbox"
              checked={text.trim().toLowerCase() === 'true'}
              onChange={e => props.onChange(p.name, e.target.checked ? 'true' : 'false')}
            />
          );
        } else if (p.type === 'list' || p.type === 'dict') {
          control = (
            <textarea
              {...common}
              className="zslab-input zslab-mono"
              rows={2}
              value={text}
              onChange={e => props.onChange(p.name, e.target.value)}
            />
          );
        } else {
          control = (
            <input
              {...common}
              className={`zslab-input${p.type === 'None' ? ' zslab-mono' : ''}`}
              inputMode={p.type === 'int' || p.type === 'float' ? 'decimal' : undefined}
              value={text}
              onChange={e => props.onChange(p.name, e.target.value)}
            />
          );
        }
        return (
          <div key={p.name} className="zslab-field">
            <label htmlFor={`zslab-param-${p.name}`}>
              <code>{p.name}</code>{' '}
              <span className="zslab-muted">{p.type === 'None' ? trans.__('any') : p.type}</span>
            </label>
            {control}
            {p.help ? <div className="zslab-muted">{p.help}</div> : null}
            {error ? (
              <div className="zslab-error-text" data-testid={`zslab-param-error-${p.name}`}>
                {trans.__(error.message)}
              </div>
            ) : null}
          </div>
        );
      })}
    </div>
  );
}
