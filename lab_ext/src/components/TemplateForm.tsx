import React, { useEffect, useState } from 'react';

import type { SectionProps } from '../actions';
import { describeError } from '../api';
import { isLive, parameterText, specLabel, validateParameters } from '../format';
import type { TemplateRead } from '../types';
import { Notice } from './Notice';
import { ParameterForm } from './ParameterForm';

function defaults(template: TemplateRead): Record<string, string> {
  return Object.fromEntries(template.parameters.map(p => [p.name, parameterText(p)]));
}

/** A template's parameter form: run it on a lease, or open a filled-in copy as a notebook. */
export function TemplateForm(
  props: SectionProps & { template: TemplateRead; onBack: () => void }
): JSX.Element {
  const { template, trans, model } = props;
  const [texts, setTexts] = useState(() => defaults(template));
  const live = model.leases.filter(isLive);
  const [leaseId, setLeaseId] = useState<string>(live[0]?.id ?? '');
  const [path, setPath] = useState(`zslab-notebooks/${template.name}.ipynb`);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<{ message: string; fix: string | null } | null>(null);
  // A refreshed listing of the same template keeps what the user typed; another template resets.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setTexts(defaults(template)), [template.name]);

  const { values, errors } = validateParameters(template.parameters, texts);

  const submit = async (what: 'run' | 'notebook') => {
    if (errors.length) {
      return;
    }
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      if (what === 'run') {
        const { run_id } = await model.api.runTemplate(template.name, {
          parameters: values,
          lease_id: leaseId || null
        });
        setMessage(trans.__('Run %1 started; follow it under Runs.', run_id));
        void model.refreshRuns();
      } else {
        const result = await model.api.templateNotebook(template.name, {
          parameters: values,
          path
        });
        props.actions.openPath(result.path);
        setMessage(trans.__('Opened %1.', result.path));
      }
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="zslab-dialog" data-testid="zslab-template-form" data-template={template.name}>
      <button
        className="jp-mod-styled zslab-button zslab-link"
        data-testid="zslab-template-back"
        onClick={props.onBack}
      >
        ← {trans.__('All templates')}
      </button>
      <h3>{template.title}</h3>
      {template.description ? <p className="zslab-muted">{template.description}</p> : null}
      <ParameterForm
        parameters={template.parameters}
        texts={texts}
        errors={errors}
        trans={trans}
        onChange={(name, text) => setTexts({ ...texts, [name]: text })}
      />
      <label className="zslab-field">
        <span>{trans.__('Lease')}</span>
        <select
          className="zslab-input"
          value={leaseId}
          data-testid="zslab-template-lease"
          onChange={e => setLeaseId(e.target.value)}
        >
          <option value="">{trans.__('No lease (run on the Jupyter server)')}</option>
          {live.map(lease => (
            <option key={lease.id} value={lease.id}>
              {specLabel(lease.spec)} · {lease.id}
            </option>
          ))}
        </select>
      </label>
      <div className="zslab-row">
        <button
          className="jp-mod-styled jp-mod-accept zslab-button"
          disabled={busy || errors.length > 0}
          data-testid="zslab-template-run"
          onClick={() => void submit('run')}
        >
          {trans.__('Run')}
        </button>
      </div>
      <label className="zslab-field">
        <span>{trans.__('Notebook path')}</span>
        <input
          className="zslab-input"
          value={path}
          data-testid="zslab-template-path"
          onChange={e => setPath(e.target.value)}
        />
      </label>
      <button
        className="jp-mod-styled zslab-button"
        disabled={busy || errors.length > 0 || !path.trim()}
        data-testid="zslab-template-notebook"
        onClick={() => void submit('notebook')}
      >
        {trans.__('Open as notebook')}
      </button>
      <Notice kind="info" text={message} testid="zslab-template-message" />
      <Notice
        kind="error"
        text={error?.message ?? null}
        fix={error?.fix}
        testid="zslab-template-error"
      />
    </div>
  );
}
