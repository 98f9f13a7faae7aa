/**
 * The lab's shared state: configuration, pools, my leases, runs and templates, kept fresh
 * from the hub's event stream (or by polling when the stream is unavailable). Views read it
 * and listen to `changed`; they call the API through `model.api`.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, ZslabApi } from './api';
import { isLive, isWaiting } from './format';
import type { LabConfig, LeaseRead, PoolRead, RunRead, TemplateRead } from './types';

export type Section = 'compute' | 'runs' | 'templates' | 'cases';

export interface SectionRequest {
  section: Section;
  template?: string;
  request?: boolean;
}

export interface LabSettings {
  /** Overrides the hub URL the server extension reports (for links only). */
  hubUrl: string;
  /** Heartbeat interval for my live leases; 0: the server's `heartbeat_s`. */
  heartbeatIntervalSeconds: number;
  /** Refresh interval when the event stream is unavailable, and for running runs. */
  pollSeconds: number;
}

export const DEFAULT_SETTINGS: LabSettings = {
  hubUrl: '',
  heartbeatIntervalSeconds: 0,
  pollSeconds: 15
};

export class LabModel {
  constructor(readonly api: ZslabApi = new ZslabApi()) {}

  config: LabConfig | null = null;
  pools: PoolRead[] = [];
  leases: LeaseRead[] = [];
  runs: RunRead[] = [];
  templates: TemplateRead[] = [];
  /** The last error of a background refresh, shown in the panels; null when all is well. */
  error: string | null = null;
  /** True while the event stream is connected (else the model polls). */
  live = false;
  settings: LabSettings = { ...DEFAULT_SETTINGS };
  /** Runs ticked in the Runs section: what "publish as a case" reports. */
  selectedRuns: string[] = [];
  /** True when the Cases section should open its publish form (set by "publish"). */
  publishRequested = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Asks the sidebar to show a section (commands emit it; the sidebar listens). */
  get sectionRequested(): ISignal<this, SectionRequest> {
    return this._sectionRequested;
  }

  get hubUrl(): string {
    return this.settings.hubUrl || this.config?.hub_url || '';
  }

  get galleryUrl(): string {
    return (
      this.config?.gallery_url || (this.hubUrl ? `${this.hubUrl.replace(/\/$/, '')}/cases` : '')
    );
  }

  /** My leases that are live or waiting, in the order the hub lists them. */
  get currentLeases(): LeaseRead[] {
    return this.leases.filter(lease => isLive(lease) || isWaiting(lease));
  }

  /** Show a section; `template` opens that template's form, `request` the request dialog. */
  showSection(section: Section, options: { template?: string; request?: boolean } = {}): void {
    this._sectionRequested.emit({ section, ...options });
  }

  selectRun(runId: string, selected: boolean): void {
    const others = this.selectedRuns.filter(id => id !== runId);
    this.selectedRuns = selected ? [...others, runId] : others;
    this._changed.emit();
  }

  /** Open the publish form in Cases, for the ticked runs (else the newest completed one). */
  requestPublish(): void {
    if (this.selectedRuns.length === 0) {
      const latest = this.runs.find(run => run.status === 'completed');
      this.selectedRuns = latest ? [latest.id] : [];
    }
    this.publishRequested = true;
    this.showSection('cases');
    this._changed.emit();
  }

  /** Close the publish form; the ticked runs are cleared once published or cancelled. */
  finishPublish(): void {
    this.publishRequested = false;
    this.selectedRuns = [];
    this._changed.emit();
  }

  updateSettings(settings: Partial<LabSettings>): void {
    this.settings = { ...this.settings, ...settings };
    if (this._started) {
      this._schedule();
    }
    this._changed.emit();
  }

  /** Load everything, then follow the event stream and heartbeat my live leases. */
  async start(): Promise<void> {
    this._started = true;
    // All at once: the pools need not wait for the config's round trip to the hub.
    const loadConfig = this._guard(async () => {
      this.config = await this.api.config();
    });
    await Promise.all([
      loadConfig,
      this.refreshCompute(),
      this.refreshRuns(),
      this.loadTemplates()
    ]);
    this._follow();
    this._schedule();
  }

  dispose(): void {
    this._started = false;
    this._stream?.abort();
    window.clearTimeout(this._retryTimer);
    window.clearTimeout(this._debounce);
    window.clearInterval(this._pollTimer);
    window.clearInterval(this._heartbeatTimer);
  }

  async refreshCompute(): Promise<void> {
    await this._guard(async () => {
      const [pools, leases] = await Promise.all([this.api.pools(), this.api.leases()]);
      this.pools = pools;
      this.leases = leases.items;
    });
  }

  async refreshRuns(): Promise<void> {
    await this._guard(async () => {
      this.runs = (await this.api.runs()).items;
    });
  }

  async loadTemplates(): Promise<void> {
    await this._guard(async () => {
      this.templates = await this.api.templates();
    });
  }

  /** Put a lease the hub just returned in place of the one we had (or first). */
  upsertLease(lease: LeaseRead): void {
    const others = this.leases.filter(l => l.id !== lease.id);
    this.leases = [lease, ...others];
    this._changed.emit();
  }

  private async _guard(load: () => Promise<void>): Promise<void> {
    try {
      await load();
      this.error = null;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
    }
    this._changed.emit();
  }

  /** Follow `/events`; on failure fall back to polling and retry the stream later. */
  private _follow(): void {
    if (!this._started) {
      return;
    }
    this._stream = new AbortController();
    const signal = this._stream.signal;
    this.live = true;
    this._changed.emit();
    this.api
      .followEvents(
        event => {
          this._lastEventId = String(event.id);
          this._refreshSoon();
        },
        { signal, lastEventId: this._lastEventId }
      )
      .catch(() => undefined)
      .then(() => {
        this.live = false;
        this._changed.emit();
        if (!signal.aborted) {
          this._retryTimer = window.setTimeout(() => this._follow(), STREAM_RETRY_MS);
        }
      });
  }

  /** Events come in bursts (granted, then active): one refresh for a burst. */
  private _refreshSoon(): void {
    window.clearTimeout(this._debounce);
    this._debounce = window.setTimeout(() => void this.refreshCompute(), 300);
  }

  private _schedule(): void {
    window.clearInterval(this._pollTimer);
    window.clearInterval(this._heartbeatTimer);
    const poll = Math.max(2, this.settings.pollSeconds) * 1000;
    this._pollTimer = window.setInterval(() => {
      if (!this.live) {
        void this.refreshCompute();
      }
      if (this.runs.some(run => run.status === 'queued' || run.status === 'running')) {
        void this.refreshRuns();
      }
    }, poll);
    const beat = this.settings.heartbeatIntervalSeconds || this.config?.heartbeat_s || 30;
    this._heartbeatTimer = window.setInterval(
      () => void this._heartbeat(),
      Math.max(1, beat) * 1000
    );
  }

  private async _heartbeat(): Promise<void> {
    const live = this.leases.filter(isLive);
    const answers = await Promise.allSettled(live.map(lease => this.api.heartbeat(lease.id)));
    let changed = false;
    answers.forEach((answer, i) => {
      if (answer.status !== 'fulfilled') {
        return;
      }
      const beat = answer.value;
      const lease = live[i];
      if (
        beat.state !== lease.state ||
        beat.expires_at !== lease.expires_at ||
        beat.preempt_at !== lease.preempt_at
      ) {
        Object.assign(lease, {
          state: beat.state,
          expires_at: beat.expires_at,
          preempt_at: beat.preempt_at,
          reason: beat.reason
        });
        changed = true;
      }
    });
    if (changed) {
      this.leases = [...this.leases];
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _sectionRequested = new Signal<this, SectionRequest>(this);
  private _started = false;
  private _stream: AbortController | null = null;
  private _lastEventId: string | null = null;
  private _pollTimer: number | undefined;
  private _heartbeatTimer: number | undefined;
  private _retryTimer: number | undefined;
  private _debounce: number | undefined;
}

const STREAM_RETRY_MS = 10_000;
