/**
 * Friendly names for the types the lab shares with the server. They are generated
 * (`src/generated/hub.ts`, `make types`) from the hub's OpenAPI document (`zslab/schemas.py`
 * and the routers) and from the Jupyter server extension's models (`zslab/jupyter/models.py`),
 * so they cannot drift; only what that document cannot know is written by hand below.
 *
 * Datetimes arrive as ISO 8601 strings; they stay strings here and are parsed where a view
 * needs a number (see `format.ts`).
 */
import type { components, paths } from './generated/hub';

type Schemas = components['schemas'];
/** The query parameters of a hub route, as the hub declares them. */
type QueryOf<Path extends keyof paths> = paths[Path] extends {
  get: { parameters: { query?: infer Q } };
}
  ? NonNullable<Q>
  : never;

// --- the server extension (`/zslab/config`, `/zslab/templates…`) --------------------------

export type LabConfig = Schemas['LabConfig'];
export type TemplateRead = Schemas['TemplateRead'];
export type TemplateParameterRead = Schemas['TemplateParameterRead'];
/** A parameter's type as the template registry infers it from the default; "None": anything. */
export type ParameterType = TemplateParameterRead['type'];
export type TemplateRunCreate = Schemas['TemplateRunCreate'];
export type TemplateRunStarted = Schemas['TemplateRunStarted'];
export type TemplateNotebookCreate = Schemas['TemplateNotebookCreate'];
export type TemplateNotebookCreated = Schemas['TemplateNotebookCreated'];

// --- slices and leases -------------------------------------------------------------------

export type LeaseCreate = Schemas['LeaseCreate'];
export type LeaseRead = Schemas['LeaseRead'];
export type LeasePage = Schemas['Page_LeaseRead_'];
export type LeaseState = LeaseRead['state'];
export type Priority = LeaseRead['priority'];
export type QueueInfo = Schemas['QueueInfo'];
export type HeartbeatRead = Schemas['HeartbeatRead'];
export type PoolRead = Schemas['PoolRead'];
export type Estimate = Schemas['Estimate'];
export type UsageRow = Schemas['UsageRow'];
export type UsageGrouping = NonNullable<QueryOf<'/api/v1/usage'>['group_by']>;
export type LeaseQuery = QueryOf<'/api/v1/leases'>;

// --- template runs -----------------------------------------------------------------------

export type RunRead = Schemas['RunRead'];
export type RunPage = Schemas['Page_RunRead_'];
export type RunStatus = RunRead['status'];
export type RunQuery = QueryOf<'/api/v1/runs'>;
export type ArtifactRead = Schemas['ArtifactRead'];

// --- the case library --------------------------------------------------------------------

export type CaseCreate = Schemas['CaseCreate'];
export type CaseRead = Schemas['CaseRead'];
export type CaseVersionRead = Schemas['CaseVersionRead'];
export type CaseSearchPage = Schemas['CaseSearchPage'];
export type CaseQuery = QueryOf<'/api/v1/cases'>;
export type Visibility = CaseRead['visibility'];
export type CaseStatus = CaseRead['status'];

// --- what the OpenAPI document cannot know -----------------------------------------------

/** An RFC 9457 problem document as the hub sends it (`zslab/hub/problems.py`). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  field?: string;
  fix?: string;
  errors?: Array<{ field?: string; detail?: string; [key: string]: unknown }>;
  request_id?: string;
  [key: string]: unknown;
}

/**
 * One message of the `GET /events` server-sent event stream: a lease event as
 * `GET /leases/{id}/events` lists them, with the lease's project.
 */
export type LeaseEvent = Schemas['LeaseEventRead'] & { project_id?: string };

/**
 * A lease's metering (`zslab.compute.tariff.Metering.to_mapping`); the hub's schema says only
 * "an object" (`LeaseRead.metering`).
 */
export interface Metering {
  slice_hours?: number;
  device_hours?: number;
  energy_kwh?: number;
  cost?: number;
  subsidy?: number;
  net_cost?: number;
  currency?: string;
  domestic?: boolean;
  [key: string]: unknown;
}

/** The sectors of `zslab.cases.model.SECTORS`: key → [Chinese, English]. */
export const SECTORS: Record<string, [string, string]> = {
  finance: ['金融', 'Finance'],
  education: ['教育', 'Education'],
  healthcare: ['医疗', 'Healthcare'],
  culture_tourism: ['文旅', 'Culture & tourism'],
  manufacturing: ['工业', 'Manufacturing'],
  city_governance: ['城市治理', 'City governance'],
  online_economy: ['在线新经济', 'Online economy'],
  other: ['其他', 'Other']
};
