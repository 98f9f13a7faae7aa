/**
 * Types that mirror the hub's API schemas (`zslab/schemas.py`, the `XRead` models) and the
 * Jupyter server extension's own routes (`/zslab/config`, `/zslab/templates`).
 *
 * Datetimes arrive as ISO 8601 strings; they stay strings here and are parsed where a view
 * needs a number (see `format.ts`).
 */

/** `GET /zslab/config` (the server extension). */
export interface LabConfig {
  hub_url: string;
  gallery_url: string;
  user: { name: string; role: 'admin' | 'reviewer' | 'member' | string };
  heartbeat_interval_s: number;
  [key: string]: unknown;
}

/** A listing page (`Page[T]`): pass `next_cursor` as `cursor` for the next one. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

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

// --- slices and leases -----------------------------------------------------------------

export type Priority = 'interactive' | 'batch';

export type LeaseState =
  | 'requested'
  | 'queued'
  | 'granted'
  | 'active'
  | 'released'
  | 'expired'
  | 'preempted'
  | 'failed';

/** `POST /leases` body (`LeaseCreate`). */
export interface LeaseCreate {
  spec: string;
  hours?: number | null;
  priority?: Priority;
  project?: string | null;
  max_wait_s?: number | null;
  flexible?: boolean;
  deadline?: string | null;
}

export interface QueueInfo {
  position: number;
  expected_start: string | null;
  reason: string;
}

/** A lease's metering (`zslab.compute.tariff.Metering.to_mapping`). */
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

export interface LeaseRead {
  id: string;
  user_id: string;
  project_id: string;
  spec: string;
  priority: Priority;
  state: LeaseState;
  hours: number;
  created_at: string;
  granted_at: string | null;
  expires_at: string | null;
  ended_at: string | null;
  placement: Record<string, unknown> | null;
  units: number;
  borrowed: boolean;
  reservation_id: string | null;
  lent_from: string | null;
  reason: string;
  queue: QueueInfo | null;
  preempt_at: string | null;
  not_before: string | null;
  heartbeat_s: number;
  metering: Metering | null;
  worker: Record<string, unknown> | null;
}

export interface HeartbeatRead {
  state: LeaseState;
  expires_at: string | null;
  preempt_at: string | null;
  heartbeat_s: number;
  reason: string;
}

/** One message of the `GET /events` server-sent event stream. */
export interface LeaseEvent {
  id: number;
  lease_id: string;
  project_id?: string;
  at: string;
  type: string;
  state: string;
  reason: string;
  data: Record<string, unknown>;
}

/** `GET /pools`: free capacity per site, pool and model. */
export interface PoolRead {
  site: string;
  pool: string;
  model: string | null;
  domestic: boolean;
  nodes: number;
  drained_nodes: number;
  devices: number;
  free_devices: number;
  free_units: number;
  free_cpu_cores: number;
  /** MIG profile → how many more fit (MIG-capable models). */
  profiles: Record<string, number> | null;
  /** Device share ("0.25", "0.5") → how many more fit (other models). */
  shares: Record<string, number> | null;
}

/** `GET /estimate`. */
export interface Estimate {
  spec: string;
  hours: number;
  grantable_now: boolean;
  queue_ahead: number;
  energy_kwh: number;
  cost: number;
  subsidy: number;
  net_cost: number;
  currency: string;
  tariff: string;
  tariff_is_example: boolean;
  cheapest_start: string | null;
  cheapest_saving: number | null;
}

export interface UsageRow {
  key: string;
  name: string;
  leases: number;
  slice_hours: number;
  device_hours: number;
  energy_kwh: number;
  cost: number;
  subsidy: number;
  net_cost: number;
  green_kwh: number;
  co2_kg: number;
  domestic_slice_hours: number;
  domestic_share: number;
  currency: string;
}

// --- template runs ---------------------------------------------------------------------

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface ArtifactRead {
  run_id: string;
  name: string;
  sha256: string;
  size: number;
  media_type: string;
  created_at: string;
}

export interface RunRead {
  id: string;
  project_id: string;
  user_id: string;
  template: string;
  template_sha256: string | null;
  parameters: Record<string, unknown>;
  lease_id: string | null;
  status: RunStatus;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  metrics: Record<string, unknown>;
  provenance: Record<string, unknown>;
  error: string | null;
  notebook_sha256: string | null;
  /** Filled by `GET /runs/{id}`; listings leave it out. */
  artifacts?: ArtifactRead[] | null;
}

// --- templates (the server extension's `/zslab/templates`) ----------------------------

/** A parameter's type as `zslab.templates` infers it from the default; "None": anything. */
export type ParameterType = 'int' | 'float' | 'bool' | 'str' | 'list' | 'dict' | 'None';

export interface TemplateParameter {
  name: string;
  type: ParameterType;
  default: unknown;
  help: string;
}

export interface TemplateInfo {
  name: string;
  title: string;
  description: string;
  parameters: TemplateParameter[];
  path?: string;
  sha256?: string;
}

export interface TemplateRunCreate {
  parameters: Record<string, unknown>;
  lease_id: string | null;
}

export interface TemplateNotebookCreate {
  parameters: Record<string, unknown>;
  path: string;
}

// --- the case library ------------------------------------------------------------------

export type Visibility = 'public' | 'org' | 'private';
export type CaseStatus = 'draft' | 'in_review' | 'published' | 'archived';

/** `POST /cases` body (`CaseCreate`); only the fields the lab sends are required. */
export interface CaseCreate {
  runs: string[];
  title: string;
  sector: string;
  title_en?: string;
  summary?: string;
  license?: string | null;
  task?: string | null;
  tags?: string[];
  model?: string;
  visibility?: Visibility;
  project?: string | null;
  slug?: string | null;
  submit?: boolean;
}

export interface CaseVersionRead {
  id: string;
  case_id: string;
  slug: string;
  number: number;
  status: CaseStatus;
  title: string;
  title_en: string;
  summary: string;
  task: string;
  license: string;
  tags: string[];
  model: string;
  results: Record<string, unknown>[];
  run_ids: string[];
  created_at: string;
  published_at: string | null;
  [key: string]: unknown;
}

export interface CaseRead {
  id: string;
  slug: string;
  sector: string;
  visibility: Visibility;
  org_id: string;
  project_id: string;
  owner_id: string;
  title: string;
  title_en: string;
  summary: string;
  task: string;
  license: string;
  tags: string[];
  model: string;
  datasets: string[];
  status: CaseStatus;
  current_version: number;
  published_version: number | null;
  reproduced: boolean;
  created_at: string;
  updated_at: string;
  versions?: CaseVersionRead[] | null;
}

export interface CaseSearchPage {
  items: CaseRead[];
  total: number;
  total_exact: boolean;
  offset: number;
  limit: number;
}

export interface CaseQuery {
  q?: string;
  sector?: string;
  sort?: string;
  limit?: number;
  offset?: number;
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
