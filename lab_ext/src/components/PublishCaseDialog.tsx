import React, { useState } from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';

import { describeError, ZslabApi } from '../api';
import { SECTORS, type CaseVersionRead, type Visibility } from '../types';
import { Notice } from './Notice';

/** Publish runs as a case (`POST /cases`): runs, title, sector, license, summary, visibility. */
export function PublishCaseDialog(props: {
  api: ZslabApi;
  runs: string[];
  trans: TranslationBundle;
  onDone: (version: CaseVersionRead) => void;
  onCancel: () => void;
}): JSX.Element {
  const { trans } = props;
  const [runs, setRuns] = useState(props.runs.join(', '));
  const [title, setTitle] = useState('');
  const [sector, setSector] = useState('other');
  const [license, setLicense] = useState('apache-2.0');
  const [summary, setSummary] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('org');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; fix: string | null } | null>(null);

  const runIds = runs.split(/[\s,]+/).filter(Boolean);
  const submit = async () => {
    if (runIds.length === 0 || !title.trim()) {
      setError({ message: trans.__('Give at least one run and a title.'), fix: null });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onDone(
        await props.api.publishCase({
          runs: runIds,
          title: title.trim(),
          sector,
          license: license.trim() || null,
          summary,
          visibility
        })
      );
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="zslab-dialog"
      data-testid="zslab-publish-dialog"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>{trans.__('Publish as a case')}</h3>
      <label className="zslab-field">
        <span>{trans.__('Runs')}</span>
        <input
          className="zslab-input zslab-mono"
          value={runs}
          data-testid="zslab-publish-runs"
          onChange={e => setRuns(e.target.value)}
        />
      </label>
      <label className="zslab-field">
        <span>{trans.__('Title')}</span>
        <input
          className="zslab-input"
          value={title}
          data-testid="zslab-publish-title"
          onChange={e => setTitle(e.target.value)}
        />
      </label>
      <label className="zslab-field">
        <span>{trans.__('Sector')}</span>
        <select
          className="zslab-input"
          value={sector}
          data-testid="zslab-publish-sector"
          onChange={e => setSector(e.target.value)}
        >
          {Object.entries(SECTORS).map(([key, [zh, en]]) => (
            <option key={key} value={key}>
              {trans.__(en)} · {zh}
            </option>
          ))}
        </select>
      </label>
      <label className="zslab-field">
        <span>{trans.__('License (SPDX id)')}</span>
        <input
          className="zslab-input"
          value={license}
          data-testid="zslab-publish-license"
          onChange={e => setLicense(e.target.value)}
        />
      </label>
      <label className="zslab-field">
        <span>{trans.__('Summary')}</span>
        <textarea
          className="zslab-input"
          rows={3}
          value={summary}
          data-testid="zslab-publish-summary"
          onChange={e => setSummary(e.target.value)}
        />
      </label>
      <label className="zslab-field">
        <span>{trans.__('Visibility')}</span>
        <select
          className="zslab-input"
          value={visibility}
          data-testid="zslab-publish-visibility"
          onChange={e => setVisibility(e.target.value as Visibility)}
        >
          <option value="org">{trans.__('organization')}</option>
          <option value="public">{trans.__('public')}</option>
          <option value="private">{trans.__('private')}</option>
        </select>
      </label>
      <Notice
        kind="error"
        text={error?.message ?? null}
        fix={error?.fix}
        testid="zslab-publish-error"
      />
      <div className="zslab-row">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept zslab-button"
          disabled={busy}
          data-testid="zslab-publish-submit"
        >
          {trans.__('Publish')}
        </button>
        <button
          type="button"
          className="jp-mod-styled zslab-button"
          data-testid="zslab-publish-cancel"
          onClick={props.onCancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
