import React, { useState } from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';

import { describeError, ZslabApi } from '../api';
import { formatCost, formatCountdown, isLive, leaseCost, secondsUntil, specLabel } from '../format';
import type { LeaseRead } from '../types';
import { Notice } from './Notice';

/** One of my leases: state, countdown, cost so far, queue position; renew and release. */
export function LeaseItem(props: {
  lease: LeaseRead;
  now: number;
  api: ZslabApi;
  trans: TranslationBundle;
  onChanged: (lease: LeaseRead) => void;
}): JSX.Element {
  const { lease, now, trans } = props;
  const [hours, setHours] = useState('1');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; fix: string | null } | null>(null);
  const live = isLive(lease);
  const cost = leaseCost(lease);

  const act = async (call: () => Promise<LeaseRead>) => {
    setBusy(true);
    setError(null);
    try {
      props.onChanged(await call());
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const renew = () => {
    const value = Number(hours);
    if (!(value > 0)) {
      setError({ message: trans.__('Give a number of hours above 0.'), fix: null });
      return;
    }
    void act(() => props.api.renewLease(lease.id, value));
  };

  return (
    <li
      className={`zslab-lease zslab-lease-${lease.state}`}
      data-testid="zslab-lease"
      data-lease-id={lease.id}
    >
      <div className="zslab-lease-head">
        <span className="zslab-lease-spec">{specLabel(lease.spec)}</span>
        <span className="zslab-badge" data-testid="zslab-lease-state">
          {trans.__(lease.state)}
        </span>
      </div>
      {live ? (
        <div className="zslab-lease-meta">
          <span data-testid="zslab-lease-countdown" title={lease.expires_at ?? ''}>
            {trans.__('%1 left', formatCountdown(secondsUntil(lease.expires_at, now)))}
          </span>
          {cost ? (
            <span data-testid="zslab-lease-cost">{formatCost(cost.amount, cost.currency)}</span>
          ) : null}
        </div>
      ) : null}
      {lease.preempt_at ? (
        <div className="zslab-warning" data-testid="zslab-lease-preempt">
          {trans.__('Preempted in %1', formatCountdown(secondsUntil(lease.preempt_at, now)))}
        </div>
      ) : null}
      {lease.queue ? (
        <div className="zslab-lease-meta" data-testid="zslab-lease-queue">
          {trans.__('Queue position %1', lease.queue.position)}
          {lease.queue.expected_start
            ? ' · ' +
              trans.__(
                'expected start in %1',
                formatCountdown(secondsUntil(lease.queue.expected_start, now))
              )
            : ''}
          {lease.queue.reason ? <div className="zslab-muted">{lease.queue.reason}</div> : null}
        </div>
      ) : null}
      <div className="zslab-row">
        {live ? (
          <>
            <input
              className="zslab-input zslab-input-narrow"
              type="number"
              min="0.25"
              step="0.25"
              value={hours}
              aria-label={trans.__('Hours to add')}
              data-testid="zslab-lease-renew-hours"
              onChange={e => setHours(e.target.value)}
            />
            <button
              className="jp-mod-styled zslab-button"
              disabled={busy}
              data-testid="zslab-lease-renew"
              onClick={renew}
            >
              {trans.__('Renew')}
            </button>
          </>
        ) : null}
        <button
          className="jp-mod-styled zslab-button zslab-button-warn"
          disabled={busy}
          data-testid="zslab-lease-release"
          onClick={() => void act(() => props.api.releaseLease(lease.id))}
        >
          {live ? trans.__('Release') : trans.__('Cancel request')}
        </button>
      </div>
      <Notice
        kind="error"
        text={error?.message ?? null}
        fix={error?.fix}
        testid="zslab-lease-error"
      />
    </li>
  );
}
