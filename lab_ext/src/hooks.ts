/** React hooks the views share. */
import { useEffect, useState } from 'react';

import type { LabModel } from './model';

/** Re-render whenever the model changes. */
export function useModel(model: LabModel): LabModel {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const onChange = () => setVersion(v => v + 1);
    model.changed.connect(onChange);
    return () => {
      model.changed.disconnect(onChange);
    };
  }, [model]);
  return model;
}

/** The current time in ms, ticking every second (countdowns run client-side). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}
