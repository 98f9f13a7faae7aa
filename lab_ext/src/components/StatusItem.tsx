import React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';

import {
  activeLease,
  formatCost,
  formatCountdown,
  leaseCost,
  secondsUntil,
  specLabel
} from '../format';
import { useModel, useNow } from '../hooks';
import type { LabModel } from '../model';

/** The status bar: the active lease, its remaining time and cost so far; click opens Compute. */
export function StatusItem(props: {
  model: LabModel;
  trans: TranslationBundle;
  onClick: () => void;
}): JSX.Element {
  const model = useModel(props.model);
  const now = useNow();
  const { trans } = props;
  const lease = activeLease(model.leases);
  const waiting =
    model.currentLeases.length -
    model.leases.filter(l => l.state === 'granted' || l.state === 'active').length;
  let text: string;
  if (lease) {
    const cost = leaseCost(lease);
    text = [
      specLabel(lease.spec),
      formatCountdown(secondsUntil(lease.expires_at, now)),
      cost ? formatCost(cost.amount, cost.currency) : null
    ]
      .filter(Boolean)
      .join(' · ');
  } else if (waiting > 0) {
    text = trans.__('%1 request(s) waiting', waiting);
  } else {
    text = trans.__('No lease');
  }
  return (
    <button
      className="zslab-status"
      data-testid="zslab-status"
      title={trans.__('智算 Lab: open Compute')}
      onClick={props.onClick}
    >
      {trans.__('智算')} {text}
    </button>
  );
}
