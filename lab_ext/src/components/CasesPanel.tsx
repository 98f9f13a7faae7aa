import React, { useEffect, useState } from 'react';

import type { SectionProps } from '../actions';
import { describeError } from '../api';
import { useModel } from '../hooks';
import { SECTORS, type CaseSearchPage } from '../types';
import { Notice } from './Notice';
import { PublishCaseDialog } from './PublishCaseDialog';

/** Search and browse cases by sector, open one, publish runs as a case. */
export function CasesPanel(props: SectionProps): JSX.Element {
  const model = useModel(props.model);
  const { trans, actions } = props;
  const [q, setQ] = useState('');
  const [sector, setSector] = useState('');
  const [sort, setSort] = useState('relevance');
  const [page, setPage] = useState<CaseSearchPage | null>(null);
  const [error, setError] = useState<{ message: string; fix: string | null } | null>(null);
  const [published, setPublished] = useState<string | null>(null);

  const search = async () => {
    setError(null);
    try {
      setPage(await model.api.cases({ q: q.trim(), sector, sort }));
    } catch (e) {
      setError(describeError(e));
    }
  };
  useEffect(() => {
    void search();
    // Typing in the search box waits for Enter; only the sector and the order search at once.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sector, sort]);

  const closePublish = () => model.finishPublish();

  return (
    <div className="zslab-panel" data-testid="zslab-cases-panel">
      <form
        className="zslab-search"
        onSubmit={e => {
          e.preventDefault();
          void search();
        }}
      >
        <input
          className="zslab-input"
          type="search"
          placeholder={trans.__('Search cases…')}
          value={q}
          data-testid="zslab-cases-search"
          onChange={e => setQ(e.target.value)}
        />
        <button
          type="submit"
          className="jp-mod-styled zslab-button"
          data-testid="zslab-cases-search-submit"
        >
          {trans.__('Search')}
        </button>
      </form>
      <div className="zslab-row">
        <select
          className="zslab-input"
          value={sector}
          data-testid="zslab-cases-sector"
          onChange={e => setSector(e.target.value)}
        >
          <option value="">{trans.__('All sectors')}</option>
          {Object.entries(SECTORS).map(([key, [zh, en]]) => (
            <option key={key} value={key}>
              {trans.__(en)} · {zh}
            </option>
          ))}
        </select>
        <select
          className="zslab-input"
          value={sort}
          data-testid="zslab-cases-sort"
          onChange={e => setSort(e.target.value)}
        >
          <option value="relevance">{trans.__('Most relevant')}</option>
          <option value="recent">{trans.__('Most recent')}</option>
        </select>
      </div>
      {page && page.items.length === 0 ? (
        <div className="zslab-empty" data-testid="zslab-cases-empty">
          {trans.__('No cases match.')}
        </div>
      ) : null}
      {page && page.items.length > 0 ? (
        <>
          <div className="zslab-muted" data-testid="zslab-cases-total">
            {page.total_exact
              ? trans.__('%1 cases', page.total)
              : trans.__('%1+ cases', page.total)}
          </div>
          <ul className="zslab-list" data-testid="zslab-cases">
            {page.items.map(c => (
              <li key={c.id} className="zslab-case" data-testid="zslab-case" data-slug={c.slug}>
                <div className="zslab-lease-head">
                  <strong>{c.title}</strong>
                  {c.reproduced ? (
                    <span className="zslab-tag">{trans.__('reproduced')}</span>
                  ) : null}
                </div>
                <div className="zslab-muted">
                  {SECTORS[c.sector] ? trans.__(SECTORS[c.sector][1]) : c.sector} · {c.task} ·{' '}
                  {trans.__(c.status)}
                </div>
                {c.summary ? <div className="zslab-card-text">{c.summary}</div> : null}
                <div className="zslab-row">
                  <button
                    className="jp-mod-styled zslab-button"
                    data-testid="zslab-case-open-panel"
                    onClick={() => actions.openCase(c.slug, 'panel')}
                  >
                    {trans.__('Open')}
                  </button>
                  <button
                    className="jp-mod-styled zslab-button"
                    data-testid="zslab-case-open-gallery"
                    onClick={() => actions.openCase(c.slug, 'gallery')}
                  >
                    {trans.__('Open in gallery')}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {model.publishRequested ? (
        <PublishCaseDialog
          key={model.selectedRuns.join(',')}
          api={model.api}
          runs={model.selectedRuns}
          trans={trans}
          onDone={version => {
            setPublished(
              trans.__(
                'Published %1 (version %2, %3).',
                version.slug,
                version.number,
                trans.__(version.status)
              )
            );
            closePublish();
            void search();
          }}
          onCancel={closePublish}
        />
      ) : (
        <button
          className="jp-mod-styled zslab-button"
          data-testid="zslab-case-publish-open"
          onClick={() => model.requestPublish()}
        >
          {trans.__('Publish runs as a case…')}
        </button>
      )}
      <Notice kind="info" text={published} testid="zslab-publish-result" />
      <Notice
        kind="error"
        text={error?.message ?? null}
        fix={error?.fix}
        testid="zslab-cases-error"
      />
    </div>
  );
}
