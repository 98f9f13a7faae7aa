/**
 * Pure helpers the views share: countdowns, money, slice specs, availability, template
 * parameters and run progress. No DOM, no JupyterLab: everything here is unit-tested.
 */
import type {
  Estimate,
  LeaseRead,
  LeaseState,
  Metering,
  PoolRead,
  RunRead,
  TemplateParameterRead
} from './types';

// --- time ------------------------------------------------------------------------------

/** Seconds from `nowMs` until the ISO time `iso` (negative once past; null for null). */
export function secondsUntil(iso: string | null | undefined, nowMs: number): number | null {
  if (!iso) {
    return null;
  }
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : (at - nowMs) / 1000;
}

/**
 * A countdown as `H:MM:SS`; past times show `0:00:00`.
 *
 * ```ts
 * formatCountdown(3723) // "1:02:03"
 * ```
 */
export function formatCountdown(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) {
    return '–';
  }
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

// --- money -----------------------------------------------------------------------------

const CURRENCY_SYMBOLS: Record<string, string> = { CNY: '¥', RMB: '¥', USD: '$', EUR: '€' };

/**
 * An amount of money with two decimals: `formatCost(0.2712, 'CNY')` → `"¥0.27"`; unknown
 * currencies are written after the number (`"0.27 HKD"`).
 */
export function formatCost(amount: number | null | undefined, currency = 'CNY'): string {
  const value = (amount ?? 0).toFixed(2);
  const symbol = CURRENCY_SYMBOLS[currency.toUpperCase()];
  if (symbol === undefined) {
    return `${value} ${currency}`;
  }
  return value.startsWith('-') ? `-${symbol}${value.slice(1)}` : `${symbol}${value}`;
}

/** The cost of a lease so far: its net cost when metered (after subsidy), else null. */
export function leaseCost(lease: LeaseRead): { amount: number; currency: string } | null {
  const m = lease.metering as Metering | null;
  if (!m) {
    return null;
  }
  const amount = typeof m.net_cost === 'number' ? m.net_cost : (m.cost ?? 0);
  return { amount, currency: typeof m.currency === 'string' ? m.currency : 'CNY' };
}

// --- slice specs -----------------------------------------------------------------------

/** What the request dialog collects; `buildSpec` turns it into the hub's grammar. */
export interface SpecParts {
  model: string;
  size: string;
  count?: number;
  site?: string;
  pool?: string;
  domestic?: boolean;
  cpu?: string;
  ram?: string;
  gpumem?: string;
}

/**
 * A request in the hub's slice grammar (`zslab/compute/request.py`):
 *
 * ```ts
 * buildSpec({ model: 'h100', size: '3g.40gb', count: 2, site: 'pudong' })
 * // "h100:3g.40gb x2 site=pudong"
 * ```
 */
export function buildSpec(parts: SpecParts): string {
  const words = [`${parts.model.trim()}:${parts.size.trim()}`];
  if (parts.count !== undefined && parts.count > 1) {
    words.push(`x${Math.floor(parts.count)}`);
  }
  for (const key of ['site', 'pool', 'cpu', 'ram', 'gpumem'] as const) {
    const value = parts[key]?.trim().replace(/\s+/g, '');
    if (value) {
      words.push(`${key}=${value}`);
    }
  }
  if (parts.domestic) {
    words.push('domestic');
  }
  return words.join(' ');
}

/** A spec as people read it: `"h100:3g.40gb x2"` → `"h100:3g.40gb×2"`. */
export function specLabel(spec: string): string {
  return spec.replace(/\s+x(\d+)\b/i, '×$1');
}

/** One line of the availability view: a model and slice size, and how many more fit. */
export interface Availability {
  model: string;
  size: string;
  free: number;
  pools: string[];
  domestic: boolean;
}

/**
 * Free capacity by model and slice size, summed over pools: MIG profiles, device shares and
 * whole devices (size "1"), largest counts first within a model.
 */
export function availability(pools: PoolRead[]): Availability[] {
  const rows = new Map<string, Availability>();
  const add = (pool: PoolRead, size: string, free: number) => {
    if (!pool.model) {
      return;
    }
    const key = `${pool.model}:${size}`;
    const row = rows.get(key) ?? {
      model: pool.model,
      size,
      free: 0,
      pools: [],
      domestic: pool.domestic
    };
    row.free += free;
    const where = `${pool.site}/${pool.pool}`;
    if (!row.pools.includes(where)) {
      row.pools.push(where);
    }
    rows.set(key, row);
  };
  for (const pool of pools) {
    for (const [size, free] of Object.entries(pool.profiles ?? {})) {
      add(pool, size, free);
    }
    for (const [size, free] of Object.entries(pool.shares ?? {})) {
      add(pool, size, free);
    }
    add(pool, '1', pool.free_devices);
  }
  return [...rows.values()].sort(
    (a, b) => a.model.localeCompare(b.model) || b.free - a.free || a.size.localeCompare(b.size)
  );
}

// --- leases ----------------------------------------------------------------------------

const LIVE: LeaseState[] = ['granted', 'active'];
const WAITING: LeaseState[] = ['requested', 'queued'];

export function isLive(lease: LeaseRead): boolean {
  return LIVE.includes(lease.state);
}

export function isWaiting(lease: LeaseRead): boolean {
  return WAITING.includes(lease.state);
}

/** The lease the status bar shows: the live one that expires last, else null. */
export function activeLease(leases: LeaseRead[]): LeaseRead | null {
  const live = leases.filter(isLive);
  live.sort(
    (a, b) => (Date.parse(b.expires_at ?? '') || 0) - (Date.parse(a.expires_at ?? '') || 0)
  );
  return live[0] ?? null;
}

/**
 * When a cheaper tariff window starts within `withinHours` and saves money, the seconds
 * until it starts and the saving; else null (the hint is not shown).
 */
export function cheaperWindow(
  estimate: Estimate | null,
  nowMs: number,
  withinHours = 6
): { inSeconds: number; saving: number } | null {
  if (!estimate?.cheapest_start || !estimate.cheapest_saving || estimate.cheapest_saving <= 0) {
    return null;
  }
  const inSeconds = secondsUntil(estimate.cheapest_start, nowMs);
  if (inSeconds === null || inSeconds < 0 || inSeconds > withinHours * 3600) {
    return null;
  }
  return { inSeconds, saving: estimate.cheapest_saving };
}

// --- runs ------------------------------------------------------------------------------

/**
 * A run's progress in [0, 1], or null when unknown (shown as an indeterminate bar).
 * Ended runs are 1; a running run reports `metrics.progress`, or `metrics.step` out of the
 * `max_steps` parameter.
 */
export function runProgress(run: RunRead): number | null {
  if (run.status === 'completed' || run.status === 'failed' || run.status === 'cancelled') {
    return 1;
  }
  const progress = run.metrics?.progress;
  if (typeof progress === 'number' && Number.isFinite(progress)) {
    return Math.min(1, Math.max(0, progress));
  }
  const step = run.metrics?.step;
  const steps = run.parameters?.max_steps;
  if (typeof step === 'number' && typeof steps === 'number' && steps > 0) {
    return Math.min(1, Math.max(0, step / steps));
  }
  return null;
}

// --- template parameters ---------------------------------------------------------------

const TRUE = new Set(['true', '1', 'yes', 'on', 'y', 't']);
const FALSE = new Set(['false', '0', 'no', 'off', 'n', 'f']);

/** A parameter's default as the text its form field starts with. */
export function parameterText(parameter: TemplateParameterRead): string {
  const value = parameter.default;
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  return JSON.stringify(value);
}

/** Why a value does not fit, named for the form (untranslated; the view translates). */
export interface ParameterError {
  name: string;
  message: string;
}

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * Turn form text into a value of the parameter's type, the way `zslab.templates` coerces
 * what the CLI passes: `"3"` → 3 for an int, `"yes"` → true for a bool, JSON for lists and
 * dicts; type "None" takes JSON or else the text itself.
 */
export function coerceParameter(parameter: TemplateParameterRead, text: string): Coerced {
  const raw = text.trim();
  switch (parameter.type) {
    case 'int': {
      const digits = raw.replace(/_/g, '');
      if (!/^[+-]?\d+$/.test(digits)) {
        return { ok: false, message: 'expected an integer' };
      }
      return { ok: true, value: parseInt(digits, 10) };
    }
    case 'float': {
      const value = raw === '' ? NaN : Number(raw);
      if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') {
        return { ok: false, message: 'expected a number' };
      }
      return { ok: true, value };
    }
    case 'bool': {
      const word = raw.toLowerCase();
      if (TRUE.has(word)) {
        return { ok: true, value: true };
      }
      if (FALSE.has(word)) {
        return { ok: true, value: false };
      }
      return { ok: false, message: 'expected true or false' };
    }
    case 'str':
      return { ok: true, value: text };
    case 'list':
    case 'dict': {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        return { ok: false, message: 'expected JSON' };
      }
      const isList = Array.isArray(value);
      const isDict = value !== null && typeof value === 'object' && !isList;
      if (parameter.type === 'list' ? !isList : !isDict) {
        return {
          ok: false,
          message: parameter.type === 'list' ? 'expected a JSON array' : 'expected a JSON object'
        };
      }
      return { ok: true, value };
    }
    default:
      try {
        return { ok: true, value: JSON.parse(raw) };
      } catch {
        return { ok: true, value: text };
      }
  }
}

/**
 * Check a whole form: the values of the fields changed from their defaults (an unchanged
 * field is left to the notebook, so a default written as an expression stays one) and the
 * errors of those that do not fit. Unknown names are errors, as in `validate_parameters`.
 */
export function validateParameters(
  parameters: TemplateParameterRead[],
  texts: Record<string, string>
): { values: Record<string, unknown>; errors: ParameterError[] } {
  const known = new Map(parameters.map(p => [p.name, p]));
  const values: Record<string, unknown> = {};
  const errors: ParameterError[] = [];
  for (const [name, text] of Object.entries(texts)) {
    const parameter = known.get(name);
    if (!parameter) {
      errors.push({ name, message: 'unknown parameter' });
      continue;
    }
    if (text === parameterText(parameter)) {
      continue;
    }
    const result = coerceParameter(parameter, text);
    if (result.ok) {
      values[name] = result.value;
    } else {
      errors.push({ name, message: result.message });
    }
  }
  return { values, errors };
}
