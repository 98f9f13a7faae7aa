import React, { useState } from 'react';

import type { SectionProps } from '../actions';
import { useModel, useNow } from '../hooks';
import { LeaseItem } from './LeaseItem';
import { Notice } from './Notice';
import { PoolAvailability } from './PoolAvailability';
import { RequestDialog } from './RequestDialog';

/** Pools with free capacity, the request dialog and my leases. */
export function ComputePanel(
  props: SectionProps & { requestOpen?: boolean; onRequestOpenChange?: (open: boolean) => void }
): JSX.Element {
  const model = useModel(props.model);
  const { trans } = props;
  const now = useNow();
  const [initial, setInitial] = useState<{ model: string; size: string } | undefined>();
  const open = props.requestOpen ?? false;
  const setOpen = (value: boolean) => props.onRequestOpenChange?.(value);
  const leases = model.currentLeases;

  return (
    <div className="zslab-panel" data-testid="zslab-compute-panel">
      <div className="zslab-section-head">
        <h2>{trans.__('Available now')}</h2>
        <span className="zslab-muted" data-testid="zslab-stream-state">
          {model.live ? trans.__('live') : trans.__('polling')}
        </span>
        <button
          className="jp-mod-styled zslab-button"
          data-testid="zslab-refresh-compute"
          onClick={() => void model.refreshCompute()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      <PoolAvailability
        pools={model.pools}
        trans={trans}
        onPick={(m, size) => {
          setInitial({ model: m, size });
          setOpen(true);
        }}
      />
      {open ? (
        <RequestDialog
          key={initial ? `${initial.model}:${initial.size}` : 'new'}
          api={model.api}
          pools={model.pools}
          now={now}
          trans={trans}
          initial={initial}
          onDone={lease => {
            model.upsertLease(lease);
            setOpen(false);
            setInitial(undefined);
          }}
          onCancel={() => {
            setOpen(false);
            setInitial(undefined);
          }}
        />
      ) : (
        <button
          className="jp-mod-styled jp-mod-accept zslab-button"
          data-testid="zslab-request-open"
          onClick={() => setOpen(true)}
        >
          {trans.__('Request compute…')}
        </button>
      )}
      <h2>{trans.__('My leases')}</h2>
      {leases.length === 0 ? (
        <div className="zslab-empty" data-testid="zslab-leases-empty">
          {trans.__('No live or waiting leases.')}
        </div>
      ) : (
        <ul className="zslab-list" data-testid="zslab-leases">
          {leases.map(lease => (
            <LeaseItem
              key={lease.id}
              lease={lease}
              now={now}
              api={model.api}
              trans={trans}
              onChanged={changed => model.upsertLease(changed)}
            />
          ))}
        </ul>
      )}
      <Notice kind="error" text={model.error} testid="zslab-error" />
    </div>
  );
}
