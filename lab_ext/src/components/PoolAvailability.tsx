import React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';

import { availability } from '../format';
import type { PoolRead } from '../types';

/** Free capacity by model and slice size; clicking a row starts a request for it. */
export function PoolAvailability(props: {
  pools: PoolRead[];
  trans: TranslationBundle;
  onPick: (model: string, size: string) => void;
}): JSX.Element {
  const { trans } = props;
  const rows = availability(props.pools);
  if (rows.length === 0) {
    return (
      <div className="zslab-empty" data-testid="zslab-pools-empty">
        {trans.__('No pools reported.')}
      </div>
    );
  }
  return (
    <table className="zslab-pools" data-testid="zslab-pools">
      <thead>
        <tr>
          <th>{trans.__('Model')}</th>
          <th>{trans.__('Slice')}</th>
          <th>{trans.__('Free')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(row => (
          <tr
            key={`${row.model}:${row.size}`}
            className={row.free > 0 ? 'zslab-pool-free' : 'zslab-pool-full'}
            data-testid="zslab-pool-row"
            data-model={row.model}
            data-size={row.size}
            title={row.pools.join(', ')}
            onClick={() => props.onPick(row.model, row.size)}
          >
            <td>
              {row.model}
              {row.domestic ? <span className="zslab-tag">{trans.__('domestic')}</span> : null}
            </td>
            <td>{row.size === '1' ? trans.__('whole device') : row.size}</td>
            <td className="zslab-num">{row.free}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
