// The API client against a fake ServerConnection.makeRequest: the only seam it crosses.
const makeRequest = jest.fn();

jest.mock('@jupyterlab/services', () => ({
  ServerConnection: {
    makeRequest: (...args: unknown[]) => makeRequest(...args),
    makeSettings: () => ({ baseUrl: 'http://lab.test/user/alice/' })
  }
}));

import { ApiError, describeError, queryString, ZslabApi } from '../api';

const settings = { baseUrl: 'http://lab.test/user/alice/' } as any;

function json(status: number, body: unknown, contentType = 'application/json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': contentType } });
}

beforeEach(() => makeRequest.mockReset());

describe('queryString', () => {
  it('leaves out empty values', () => {
    expect(queryString({ q: '金融 风控', sector: '', sort: undefined, limit: 20 })).toBe(
      '?q=%E9%87%91%E8%9E%8D+%E9%A3%8E%E6%8E%A7&limit=20'
    );
  });
  it('is empty without values', () => {
    expect(queryString({})).toBe('');
  });
});

describe('ZslabApi', () => {
  it('forwards hub paths under /zslab/api', async () => {
    makeRequest.mockResolvedValue(json(200, []));
    await new ZslabApi(settings).pools();
    expect(makeRequest.mock.calls[0][0]).toBe('http://lab.test/user/alice/zslab/api/pools');
  });

  it('asks for my leases', async () => {
    makeRequest.mockResolvedValue(json(200, { items: [], next_cursor: null }));
    await new ZslabApi(settings).leases();
    expect(makeRequest.mock.calls[0][0]).toBe(
      'http://lab.test/user/alice/zslab/api/leases?mine=true&limit=50'
    );
  });

  it('builds the estimate query from spec, hours and priority', async () => {
    makeRequest.mockResolvedValue(json(200, {}));
    await new ZslabApi(settings).estimate('h100:3g.40gb x2', 1.5, 'batch');
    expect(makeRequest.mock.calls[0][0]).toBe(
      'http://lab.test/user/alice/zslab/api/estimate?spec=h100%3A3g.40gb+x2&hours=1.5&priority=batch'
    );
  });

  it('posts JSON with the idempotency key when requesting a lease', async () => {
    makeRequest.mockResolvedValue(json(201, { id: 'lse_1' }));
    const lease = await new ZslabApi(settings).requestLease({ spec: 'gpu:0.5', hours: 1 }, 'key-1');
    const [url, init] = makeRequest.mock.calls[0];
    expect(url).toBe('http://lab.test/user/alice/zslab/api/leases');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body)).toEqual({ spec: 'gpu:0.5', hours: 1 });
    expect(init.headers).toEqual({
      'Idempotency-Key': 'key-1',
      'Content-Type': 'application/json'
    });
    expect(lease.id).toBe('lse_1');
  });

  it('renews and releases through the lease routes', async () => {
    makeRequest.mockImplementation(() => Promise.resolve(json(200, {})));
    const api = new ZslabApi(settings);
    await api.renewLease('lse 1', 2);
    await api.releaseLease('lse_1');
    expect(makeRequest.mock.calls[0][0]).toBe(
      'http://lab.test/user/alice/zslab/api/leases/lse%201/renew'
    );
    expect(JSON.parse(makeRequest.mock.calls[0][1].body)).toEqual({ hours: 2 });
    expect(makeRequest.mock.calls[1][0]).toBe(
      'http://lab.test/user/alice/zslab/api/leases/lse_1/release'
    );
  });

  it('calls the server extension for templates', async () => {
    makeRequest.mockResolvedValue(json(200, { run_id: 'run_9' }));
    const result = await new ZslabApi(settings).runTemplate('finetune', {
      parameters: { max_steps: 5 },
      lease_id: 'lse_1'
    });
    expect(makeRequest.mock.calls[0][0]).toBe(
      'http://lab.test/user/alice/zslab/templates/finetune/run'
    );
    expect(result.run_id).toBe('run_9');
  });

  it('turns a problem document into an ApiError with its fields', async () => {
    makeRequest.mockResolvedValue(
      json(
        422,
        {
          title: 'Invalid input',
          status: 422,
          detail: '9 hours is longer than allowed.',
          field: 'hours',
          fix: 'Ask for at most 8 hours.'
        },
        'application/problem+json'
      )
    );
    const error: ApiError = await new ZslabApi(settings)
      .requestLease({ spec: 'gpu:1', hours: 9 })
      .catch(e => e);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.message, error.field, error.fix]).toEqual([
      422,
      '9 hours is longer than allowed.',
      'hours',
      'Ask for at most 8 hours.'
    ]);
  });

  it('lists validation errors in the message a view shows', async () => {
    makeRequest.mockResolvedValue(
      json(422, {
        detail: 'Invalid request.',
        errors: [{ field: 'runs', detail: 'at least 1 item' }]
      })
    );
    const error = await new ZslabApi(settings)
      .publishCase({ runs: [], title: 't', sector: 'finance' })
      .catch(e => e);
    expect(describeError(error)).toEqual({
      message: 'Invalid request. — runs: at least 1 item',
      fix: null
    });
  });

  it('falls back to the status text when the body is not JSON', async () => {
    makeRequest.mockResolvedValue(
      new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })
    );
    const error: ApiError = await new ZslabApi(settings).pools().catch(e => e);
    expect([error.status, error.message]).toEqual([502, 'Bad Gateway']);
  });

  it('reports an unreachable server as status 0', async () => {
    makeRequest.mockRejectedValue(new TypeError('Failed to fetch'));
    const error: ApiError = await new ZslabApi(settings).pools().catch(e => e);
    expect(error.status).toBe(0);
    expect(error.message).toContain('Cannot reach the Jupyter server');
  });

  it('delivers lease events from the stream', async () => {
    const body =
      ': zslab lease events\n\nid: 3\nevent: granted\ndata: {"id": 3, "lease_id": "lse_1", "type": "granted"}\n\n';
    makeRequest.mockResolvedValue(
      new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
    );
    const events: unknown[] = [];
    await new ZslabApi(settings).followEvents(e => events.push(e), { lastEventId: '2' });
    expect(makeRequest.mock.calls[0][0]).toBe('http://lab.test/user/alice/zslab/api/events');
    expect(makeRequest.mock.calls[0][1].headers['Last-Event-ID']).toBe('2');
    expect(events).toEqual([{ id: 3, lease_id: 'lse_1', type: 'granted' }]);
  });
});
