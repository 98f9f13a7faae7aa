import React, { useEffect, useMemo, useRef, useState } from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { UUID } from '@lumino/coreutils';

import { describeError, ZslabApi } from '../api';
import {
  availability,
  buildSpec,
  cheaperWindow,
  formatCost,
  formatCountdown,
  specLabel
} from '../format';
import type { Estimate, LeaseRead, PoolRead, Priority } from '../types';
import { Notice } from './Notice';

/**
 * Request a slice: profile, count, hours, priority and constraints, with the hub's cost
 * estimate and a hint when a cheaper tariff window is near.
 */
export function RequestDialog(props: {
  api: ZslabApi;
  pools: PoolRead[];
  now: number;
  trans: TranslationBundle;
  initial?: { model: string; size: string };
  onDone: (lease: LeaseRead) => void;
  onCancel: () => void;
}): JSX.Element {
  const { trans } = props;
  const rows = useMemo(() => availability(props.pools), [props.pools]);
  const models = [...new Set(rows.map(r => r.model))];
  const [model, setModel] = useState(props.initial?.model ?? models[0] ?? '');
  const [size, setSize] = useState(props.initial?.size ?? '');
  const [count, setCount] = useState('1');
  const [hours, setHours] = useState('1');
  const [priority, setPriority] = useState<Priority>('interactive');
  const [site, setSite] = useState('');
  const [pool, setPool] = useState('');
  const [domestic, setDomestic] = useState(false);
  const [cpu, setCpu] = useState('');
  const [ram, setRam] = useState('');
  const [gpumem, setGpumem] = useState('');
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const [estimateError, setEstimateError] = useState<string | null>(null);
  const [error, setError] = useState<{ message: string; fix: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per dialog: a retried submit after a network error does not queue twice.
  const [idempotencyKey] = useState(() => UUID.uuid4());
  // The dialog opens below the pools table, out of sight when the table is long: scroll the
  // sidebar (only it: scrollIntoView would also shift JupyterLab's overflow-hidden panels).
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    const form = formRef.current;
    const sidebar = form?.closest('.zslab-sidebar-widget');
    if (form && sidebar) {
      const box = form.getBoundingClientRect();
      const view = sidebar.getBoundingClientRect();
      if (box.bottom > view.bottom) {
        sidebar.scrollTop += Math.min(box.bottom - view.bottom, box.top - view.top);
      }
    }
  }, []);

  const sizes = rows.filter(r => r.model === model);
  useEffect(() => {
    if (!sizes.some(r => r.size === size) && sizes.length > 0) {
      setSize(sizes[0].size);
    }
    // Only a change of model resets the size; a size the user picked stays while pools refresh.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model]);

  const spec =
    model && size
      ? buildSpec({
          model,
          size,
          count: Number(count) || 1,
          site,
          pool,
          domestic,
          cpu,
          ram,
          gpumem
        })
      : '';
  const hoursValue = Number(hours);

  useEffect(() => {
    setEstimate(null);
    setEstimateError(null);
    if (!spec || !(hoursValue > 0)) {
      return;
    }
    let cancelled = false;
    const timer = window.setTimeout(() => {
      props.api.estimate(spec, hoursValue, priority).then(
        result => !cancelled && setEstimate(result),
        e => !cancelled && setEstimateError(describeError(e).message)
      );
    }, 400);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
    // `props.api` is the model's one client: it never changes while the dialog is open.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [spec, hoursValue, priority]);

  const submit = async () => {
    if (!spec) {
      setError({ message: trans.__('Choose a model and a slice size.'), fix: null });
      return;
    }
    if (!(hoursValue > 0)) {
      setError({ message: trans.__('Give a number of hours above 0.'), fix: null });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const lease = await props.api.requestLease(
        { spec, hours: hoursValue, priority },
        idempotencyKey
      );
      props.onDone(lease);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const hint = cheaperWindow(estimate, props.now);
  const field = (label: string, control: JSX.Element) => (
    <label className="zslab-field">
      <span>{label}</span>
      {control}
    </label>
  );

  return (
    <form
      ref={formRef}
      className="zslab-dialog"
      data-testid="zslab-request-dialog"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3>{trans.__('Request compute')}</h3>
      {field(
        trans.__('Model'),
        <input
          className="zslab-input"
          list="zslab-request-models"
          value={model}
          data-testid="zslab-request-model"
          onChange={e => setModel(e.target.value)}
        />
      )}
      <datalist id="zslab-request-models">
        {models.map(m => (
          <option key={m} value={m} />
        ))}
      </datalist>
      {field(
        trans.__('Slice (MIG profile, share or devices)'),
        <input
          className="zslab-input"
          list="zslab-request-sizes"
          value={size}
          data-testid="zslab-request-size"
          onChange={e => setSize(e.target.value)}
        />
      )}
      <datalist id="zslab-request-sizes">
        {sizes.map(r => (
          <option key={r.size} value={r.size}>
            {trans.__('%1 free', r.free)}
          </option>
        ))}
      </datalist>
      <div className="zslab-row">
        {field(
          trans.__('Count'),
          <input
            className="zslab-input zslab-input-narrow"
            type="number"
            min="1"
            value={count}
            data-testid="zslab-request-count"
            onChange={e => setCount(e.target.value)}
          />
        )}
        {field(
          trans.__('Hours'),
          <input
            className="zslab-input zslab-input-narrow"
            type="number"
            min="0.25"
            step="0.25"
            value={hours}
            data-testid="zslab-request-hours"
            onChange={e => setHours(e.target.value)}
          />
        )}
        {field(
          trans.__('Priority'),
          <select
            className="zslab-input"
            value={priority}
            data-testid="zslab-request-priority"
            onChange={e => setPriority(e.target.value as Priority)}
          >
            <option value="interactive">{trans.__('interactive')}</option>
            <option value="batch">{trans.__('batch')}</option>
          </select>
        )}
      </div>
      <details className="zslab-constraints" data-testid="zslab-request-constraints">
        <summary>{trans.__('Constraints')}</summary>
        {field(
          trans.__('Sites (comma-separated)'),
          <input
            className="zslab-input"
            value={site}
            data-testid="zslab-request-site"
            onChange={e => setSite(e.target.value)}
          />
        )}
        {field(
          trans.__('Pools (comma-separated)'),
          <input
            className="zslab-input"
            value={pool}
            data-testid="zslab-request-pool"
            onChange={e => setPool(e.target.value)}
          />
        )}
        {field(
          trans.__('CPU cores'),
          <input
            className="zslab-input"
            value={cpu}
            data-testid="zslab-request-cpu"
            onChange={e => setCpu(e.target.value)}
          />
        )}
        {field(
          trans.__('Memory (e.g. 32GiB)'),
          <input
            className="zslab-input"
            value={ram}
            data-testid="zslab-request-ram"
            onChange={e => setRam(e.target.value)}
          />
        )}
        {field(
          trans.__('Device memory (e.g. 20GiB)'),
          <input
            className="zslab-input"
            value={gpumem}
            data-testid="zslab-request-gpumem"
            onChange={e => setGpumem(e.target.value)}
          />
        )}
        <label className="zslab-check">
          <input
            type="checkbox"
            checked={domestic}
            data-testid="zslab-request-domestic"
            onChange={e => setDomestic(e.target.checked)}
          />
          {trans.__('Domestic accelerators only')}
        </label>
      </details>
      <div className="zslab-muted" data-testid="zslab-request-spec">
        {spec ? specLabel(spec) : ''}
      </div>
      <div className="zslab-estimate" data-testid="zslab-request-estimate">
        {estimate ? (
          <>
            <div>
              {trans.__(
                'Estimated cost %1 (subsidy %2)',
                formatCost(estimate.net_cost, estimate.currency),
                formatCost(estimate.subsidy, estimate.currency)
              )}
              {estimate.tariff_is_example ? ` · ${trans.__('example tariff')}` : ''}
            </div>
            <div>
              {estimate.grantable_now
                ? trans.__('Fits now')
                : trans.__('Would wait behind %1 request(s)', estimate.queue_ahead)}
            </div>
          </>
        ) : estimateError ? (
          <span className="zslab-error-text">{estimateError}</span>
        ) : spec ? (
          trans.__('Estimating…')
        ) : null}
      </div>
      {hint && estimate ? (
        <div className="zslab-hint" data-testid="zslab-request-cheaper-hint">
          {trans.__(
            'A cheaper tariff window starts in %1: starting then saves %2.',
            formatCountdown(hint.inSeconds),
            formatCost(hint.saving, estimate.currency)
          )}
        </div>
      ) : null}
      <Notice
        kind="error"
        text={error?.message ?? null}
        fix={error?.fix}
        testid="zslab-request-error"
      />
      <div className="zslab-row">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept zslab-button"
          disabled={busy}
          data-testid="zslab-request-submit"
        >
          {trans.__('Request')}
        </button>
        <button
          type="button"
          className="jp-mod-styled zslab-button"
          data-testid="zslab-request-cancel"
          onClick={props.onCancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
