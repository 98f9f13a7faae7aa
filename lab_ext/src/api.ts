/**
 * The one client every view calls. The browser talks only to the Jupyter server extension:
 * `/zslab/config`, `/zslab/templates…`, and `/zslab/api/<path>`, which forwards to the hub's
 * `/api/v1/<path>` unchanged (methods, JSON, status codes, problem+json errors, SSE).
 *
 * Errors are translated once, here: every failure is an {@link ApiError} carrying the hub's
 * problem fields (`detail`, `field`, `fix`, `errors`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { EventStreamParser } from './sse';
import type {
  CaseCreate,
  CaseQuery,
  CaseRead,
  CaseSearchPage,
  CaseVersionRead,
  Estimate,
  HeartbeatRead,
  LabConfig,
  LeaseCreate,
  LeaseEvent,
  LeasePage,
  LeaseQuery,
  LeaseRead,
  PoolRead,
  Priority,
  Problem,
  RunPage,
  RunQuery,
  RunRead,
  TemplateNotebookCreate,
  TemplateNotebookCreated,
  TemplateRead,
  TemplateRunCreate,
  TemplateRunStarted,
  UsageGrouping,
  UsageRow
} from './types';

/** A request failed: `status` is the HTTP status (0: the server could not be reached). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problem: Problem = {}
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The request field the hub blames, if any (e.g. "spec", "hours"). */
  get field(): string | undefined {
    return this.problem.field;
  }

  /** What the hub suggests doing about it, if anything. */
  get fix(): string | undefined {
    return this.problem.fix;
  }
}

type Query = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=x` from the parameters that have a value (none: ""). */
export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** An ApiError from a failed response: its problem document when it sent one. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  let problem: Problem = {};
  try {
    const body = await response.json();
    if (body && typeof body === 'object') {
      // The Jupyter server's own errors say `message`; the hub's say `detail`.
      problem = body as Problem;
    }
  } catch {
    // Not JSON (a proxy's HTML page): the status line is all there is.
  }
  const message =
    problem.detail ||
    (typeof problem.message === 'string' && problem.message) ||
    problem.title ||
    response.statusText ||
    `HTTP ${response.status}`;
  return new ApiError(message, response.status, problem);
}

export class ZslabApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** The full URL of a server-extension route: `url('api', 'leases')` → `…/zslab/api/leases`. */
  url(...parts: string[]): string {
    return URLExt.join(this.settings.baseUrl, 'zslab', ...parts);
  }

  // --- the server extension ------------------------------------------------------------

  config(): Promise<LabConfig> {
    return this.request('GET', this.url('config'));
  }

  templates(): Promise<TemplateRead[]> {
    return this.request('GET', this.url('templates'));
  }

  runTemplate(name: string, body: TemplateRunCreate): Promise<TemplateRunStarted> {
    return this.request('POST', this.url('templates', encodeURIComponent(name), 'run'), body);
  }

  templateNotebook(name: string, body: TemplateNotebookCreate): Promise<TemplateNotebookCreated> {
    return this.request('POST', this.url('templates', encodeURIComponent(name), 'notebook'), body);
  }

  // --- the hub: compute ----------------------------------------------------------------

  pools(): Promise<PoolRead[]> {
    return this.hub('GET', 'pools');
  }

  /** My leases, newest first. */
  leases(query: LeaseQuery = {}): Promise<LeasePage> {
    return this.hub('GET', 'leases' + queryString({ mine: true, limit: 50, ...query }));
  }

  requestLease(body: LeaseCreate, idempotencyKey?: string): Promise<LeaseRead> {
    const headers = idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : undefined;
    return this.hub('POST', 'leases', body, headers);
  }

  renewLease(id: string, hours: number): Promise<LeaseRead> {
    return this.hub('POST', `leases/${encodeURIComponent(id)}/renew`, { hours });
  }

  releaseLease(id: string): Promise<LeaseRead> {
    return this.hub('POST', `leases/${encodeURIComponent(id)}/release`);
  }

  heartbeat(id: string): Promise<HeartbeatRead> {
    return this.hub('POST', `leases/${encodeURIComponent(id)}/heartbeat`, {});
  }

  estimate(spec: string, hours: number, priority: Priority): Promise<Estimate> {
    return this.hub('GET', 'estimate' + queryString({ spec, hours, priority }));
  }

  usage(groupBy: UsageGrouping = 'project'): Promise<UsageRow[]> {
    return this.hub('GET', 'usage' + queryString({ group_by: groupBy }));
  }

  /**
   * Follow the lease event stream until `signal` aborts or the stream ends (resolves) or
   * fails (rejects with an ApiError); `onEvent` gets each event.
   */
  async followEvents(
    onEvent: (event: LeaseEvent) => void,
    options: { signal?: AbortSignal; lastEventId?: string | null } = {}
  ): Promise<void> {
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    if (options.lastEventId) {
      headers['Last-Event-ID'] = options.lastEventId;
    }
    const response = await this.send(this.url('api', 'events'), {
      method: 'GET',
      headers,
      signal: options.signal
    });
    if (!response.body) {
      throw new ApiError('The event stream has no body.', response.status);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new EventStreamParser();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        return;
      }
      for (const message of parser.push(decoder.decode(value, { stream: true }))) {
        try {
          onEvent(JSON.parse(message.data) as LeaseEvent);
        } catch {
          // A message that is not JSON is not a lease event: skip it.
        }
      }
    }
  }

  // --- the hub: runs -------------------------------------------------------------------

  runs(query: RunQuery = {}): Promise<RunPage> {
    return this.hub('GET', 'runs' + queryString({ limit: 50, ...query }));
  }

  run(id: string): Promise<RunRead> {
    return this.hub('GET', `runs/${encodeURIComponent(id)}`);
  }

  /** An artifact's bytes as text (e.g. `executed.ipynb`). */
  async artifactText(runId: string, name: string): Promise<string> {
    const url = this.url('api', 'runs', encodeURIComponent(runId), 'artifacts', name);
    const response = await this.send(url, { method: 'GET' });
    return response.text();
  }

  // --- the hub: cases ------------------------------------------------------------------

  cases(query: CaseQuery = {}): Promise<CaseSearchPage> {
    return this.hub('GET', 'cases' + queryString({ ...query }));
  }

  caseDetail(slug: string): Promise<CaseRead> {
    return this.hub('GET', `cases/${encodeURIComponent(slug)}`);
  }

  publishCase(body: CaseCreate): Promise<CaseVersionRead> {
    return this.hub('POST', 'cases', body);
  }

  // --- plumbing ------------------------------------------------------------------------

  private hub<T>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>
  ): Promise<T> {
    return this.request(method, this.url('api', path), body, headers);
  }

  private async request<T>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {}
  ): Promise<T> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    }
    const response = await this.send(url, init);
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Send a request; a network failure or a non-2xx answer becomes an ApiError. */
  private async send(url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') {
        throw error;
      }
      throw new ApiError(
        `Cannot reach the Jupyter server: ${(error as Error)?.message ?? error}`,
        0
      );
    }
    if (!response.ok) {
      throw await errorFromResponse(response);
    }
    return response;
  }
}

/** What a view shows for a failure: the message and the hub's suggested fix. */
export function describeError(error: unknown): { message: string; fix: string | null } {
  if (error instanceof ApiError) {
    const details = (error.problem.errors ?? [])
      .map(e => [e.field, e.detail].filter(Boolean).join(': '))
      .filter(Boolean);
    const message = [error.message, ...details].join(' — ');
    return { message, fix: error.fix ?? null };
  }
  return { message: error instanceof Error ? error.message : String(error), fix: null };
}
