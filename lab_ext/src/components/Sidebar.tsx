import React, { useEffect, useState } from 'react';

import type { SectionProps } from '../actions';
import type { Section, SectionRequest } from '../model';
import { CasesPanel } from './CasesPanel';
import { ComputePanel } from './ComputePanel';
import { RunsPanel } from './RunsPanel';
import { TemplatesPanel } from './TemplatesPanel';

/** The "智算 Lab" sidebar: four sections behind tabs; commands switch between them. */
export function Sidebar(props: SectionProps): JSX.Element {
  const { model, trans } = props;
  const [section, setSection] = useState<Section>('compute');
  const [template, setTemplate] = useState<string | undefined>();
  const [requestOpen, setRequestOpen] = useState(false);

  useEffect(() => {
    const onRequest = (_: unknown, args: SectionRequest) => {
      setSection(args.section);
      if (args.section === 'templates') {
        setTemplate(args.template);
      }
      if (args.request) {
        setRequestOpen(true);
      }
    };
    model.sectionRequested.connect(onRequest);
    return () => {
      model.sectionRequested.disconnect(onRequest);
    };
  }, [model]);

  const tabs: Array<[Section, string]> = [
    ['compute', trans.__('Compute')],
    ['runs', trans.__('Runs')],
    ['templates', trans.__('Templates')],
    ['cases', trans.__('Cases')]
  ];
  return (
    <div className="zslab-sidebar">
      <h1 className="zslab-title">{trans.__('智算 Lab')}</h1>
      <div className="zslab-tabs" role="tablist">
        {tabs.map(([key, label]) => (
          <button
            key={key}
            role="tab"
            aria-selected={section === key}
            className={`zslab-tab${section === key ? ' zslab-tab-active' : ''}`}
            data-testid={`zslab-tab-${key}`}
            onClick={() => setSection(key)}
          >
            {label}
          </button>
        ))}
      </div>
      {section === 'compute' ? (
        <ComputePanel {...props} requestOpen={requestOpen} onRequestOpenChange={setRequestOpen} />
      ) : null}
      {section === 'runs' ? <RunsPanel {...props} /> : null}
      {section === 'templates' ? (
        <TemplatesPanel {...props} selected={template} onSelect={setTemplate} />
      ) : null}
      {section === 'cases' ? <CasesPanel {...props} /> : null}
    </div>
  );
}
