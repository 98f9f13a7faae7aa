import React from 'react';

/** A one-line message under a form or list: an error (with the hub's fix) or a success. */
export function Notice(props: {
  kind: 'error' | 'info';
  text: string | null;
  fix?: string | null;
  testid: string;
}): JSX.Element | null {
  if (!props.text) {
    return null;
  }
  return (
    <div
      className={`zslab-notice zslab-notice-${props.kind}`}
      data-testid={props.testid}
      role={props.kind === 'error' ? 'alert' : 'status'}
    >
      {props.text}
      {props.fix ? <div className="zslab-notice-fix">{props.fix}</div> : null}
    </div>
  );
}
