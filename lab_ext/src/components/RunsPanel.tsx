import React, { useState } from 'react';

import type { SectionProps } from '../actions';
import { describeError } from '../api';
import { runProgress } from '../format';
import { useModel } from '../hooks';
import type { RunRead } from '../types';
import { Notice } from './Notice';

/** Template runs with status and progress; open the executed notebook; publish as a case. */
export function RunsPanel(props: SectionProps): JSX.Element {
  const model = useModel(props.model);
  const { trans, actions } = props;
  const [error, setError] = useState<{ message: string; fix: string | null } | null>(null);

  const open = async (run: RunRead) => {
    setError(null);
    try {
      await actions.openRunNotebook(run.id);
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <div className="zslab-panel" data-testid="zslab-runs-panel">
      <div className="zslab-section-head">
        <h2>{trans.__('Template runs')}</h2>
        <button
          className="jp-mod-styled zslab-button"
          data-testid="zslab-refresh-runs"
          onClick={() => void model.refreshRuns()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      {model.runs.length === 0 ? (
        <div className="zslab-empty" data-testid="zslab-runs-empty">
          {trans.__('No runs yet: start one from Templates.')}
        </div>
      ) : (
        <ul className="zslab-list" data-testid="zslab-runs">
          {model.runs.map(run => {
            const progress = runProgress(run);
            const ended = run.status !== 'queued' && run.status !== 'running';
            return (
              <li
                key={run.id}
                className={`zslab-run zslab-run-${run.status}`}
                data-testid="zslab-run"
                data-run-id={run.id}
              >
                <div className="zslab-lease-head">
                  <label className="zslab-check">
                    <input
                      type="checkbox"
                      checked={model.selectedRuns.includes(run.id)}
                      data-testid="zslab-run-select"
                      aria-label={trans.__('Select run %1', run.id)}
                      onChange={e => model.selectRun(run.id, e.target.checked)}
                    />
                    <span className="zslab-run-template">{run.template}</span>
                  </label>
                  <span className="zslab-badge" data-testid="zslab-run-status">
                    {trans.__(run.status)}
                  </span>
                </div>
                <progress
                  className="zslab-progress"
                  data-testid="zslab-run-progress"
                  max={1}
                  {...(progress === null ? {} : { value: progress })}
                />
                <div className="zslab-muted">
                  {run.id} · {new Date(run.created_at).toLocaleString()}
                </div>
                {run.error ? (
                  <div className="zslab-error-text">{run.error.split('\n')[0]}</div>
                ) : null}
                <button
                  className="jp-mod-styled zslab-button"
                  disabled={!ended}
                  data-testid="zslab-run-open"
                  onClick={() => void open(run)}
                >
                  {trans.__('Open executed notebook')}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <button
        className="jp-mod-styled zslab-button"
        data-testid="zslab-runs-publish"
        disabled={model.runs.length === 0}
        onClick={() => model.requestPublish()}
      >
        {model.selectedRuns.length
          ? trans.__('Publish %1 selected run(s) as a case…', model.selectedRuns.length)
          : trans.__('Publish the latest run as a case…')}
      </button>
      <Notice
        kind="error"
        text={error?.message ?? null}
        fix={error?.fix}
        testid="zslab-runs-error"
      />
    </div>
  );
}
