import {
  activeLease,
  availability,
  buildSpec,
  cheaperWindow,
  coerceParameter,
  formatCost,
  formatCountdown,
  parameterText,
  runProgress,
  secondsUntil,
  specLabel,
  validateParameters
} from '../format';
import type { Estimate, LeaseRead, PoolRead, RunRead, TemplateParameterRead } from '../types';

const NOW = Date.parse('2026-11-02T10:00:00Z');

describe('formatCountdown', () => {
  it('writes hours, minutes and seconds', () => {
    expect(formatCountdown(3723)).toBe('1:02:03');
  });
  it('shows zero once the time has passed', () => {
    expect(formatCountdown(-5)).toBe('0:00:00');
  });
  it('keeps hours beyond a day', () => {
    expect(formatCountdown(26 * 3600 + 59)).toBe('26:00:59');
  });
  it('shows a dash for no time', () => {
    expect(formatCountdown(null)).toBe('–');
  });
});

describe('secondsUntil', () => {
  it('counts from now to an ISO time', () => {
    expect(secondsUntil('2026-11-02T10:01:30Z', NOW)).toBe(90);
  });
  it('is null for a missing or unreadable time', () => {
    expect(secondsUntil(null, NOW)).toBeNull();
    expect(secondsUntil('soon', NOW)).toBeNull();
  });
});

describe('formatCost', () => {
  it('writes yuan with two decimals', () => {
    expect(formatCost(0.2712, 'CNY')).toBe('¥0.27');
  });
  it('puts the sign before the symbol', () => {
    expect(formatCost(-1.5, 'CNY')).toBe('-¥1.50');
  });
  it('writes an unknown currency after the amount', () => {
    expect(formatCost(3, 'HKD')).toBe('3.00 HKD');
  });
});

describe('buildSpec', () => {
  it('adds the count in the hub grammar', () => {
    expect(buildSpec({ model: 'h100', size: '3g.40gb', count: 2 })).toBe('h100:3g.40gb x2');
  });
  it('leaves out a count of one', () => {
    expect(buildSpec({ model: 'gpu', size: '0.5', count: 1 })).toBe('gpu:0.5');
  });
  it('adds constraints and drops spaces inside values', () => {
    expect(
      buildSpec({
        model: 'a100-80gb',
        size: '1g.10gb',
        count: 4,
        site: 'pudong, lingang',
        ram: '32GiB',
        domestic: true
      })
    ).toBe('a100-80gb:1g.10gb x4 site=pudong,lingang ram=32GiB domestic');
  });
});

describe('specLabel', () => {
  it('shows the count as ×N', () => {
    expect(specLabel('h100:3g.40gb x2 site=pudong')).toBe('h100:3g.40gb×2 site=pudong');
  });
});

function pool(over: Partial<PoolRead>): PoolRead {
  return {
    site: 'pudong',
    pool: 'train',
    model: 'h100',
    domestic: false,
    nodes: 1,
    drained_nodes: 0,
    devices: 8,
    free_devices: 0,
    free_units: 0,
    free_cpu_cores: 0,
    profiles: null,
    shares: null,
    ...over
  };
}

describe('availability', () => {
  it('sums a profile over pools of the same model', () => {
    const rows = availability([
      pool({ pool: 'a', profiles: { '3g.40gb': 2 } }),
      pool({ pool: 'b', profiles: { '3g.40gb': 3 } })
    ]);
    const row = rows.find(r => r.size === '3g.40gb');
    expect(row?.free).toBe(5);
    expect(row?.pools).toEqual(['pudong/a', 'pudong/b']);
  });
  it('lists shares and whole devices of non-MIG models', () => {
    const rows = availability([pool({ model: 't4', free_devices: 2, shares: { '0.5': 4 } })]);
    expect(rows.map(r => [r.size, r.free])).toEqual([
      ['0.5', 4],
      ['1', 2]
    ]);
  });
  it('skips CPU-only pools', () => {
    expect(availability([pool({ model: null, free_devices: 0 })])).toEqual([]);
  });
});

function lease(over: Partial<LeaseRead>): LeaseRead {
  return {
    id: 'lse_1',
    user_id: 'u',
    project_id: 'p',
    spec: 'h100:1g.10gb',
    priority: 'interactive',
    state: 'active',
    hours: 1,
    created_at: '2026-11-02T09:00:00Z',
    granted_at: null,
    expires_at: null,
    ended_at: null,
    placement: null,
    units: 1,
    borrowed: false,
    reservation_id: null,
    lent_from: null,
    reason: '',
    queue: null,
    preempt_at: null,
    not_before: null,
    heartbeat_s: 30,
    metering: null,
    worker: null,
    ...over
  };
}

describe('activeLease', () => {
  it('picks the live lease that expires last', () => {
    const leases = [
      lease({ id: 'a', expires_at: '2026-11-02T11:00:00Z' }),
      lease({ id: 'b', expires_at: '2026-11-02T12:00:00Z' }),
      lease({ id: 'c', state: 'queued', expires_at: '2026-11-02T13:00:00Z' })
    ];
    expect(activeLease(leases)?.id).toBe('b');
  });
  it('is null without a live lease', () => {
    expect(activeLease([lease({ state: 'released' })])).toBeNull();
  });
});

function estimate(over: Partial<Estimate>): Estimate {
  return {
    spec: 'h100:1g.10gb',
    hours: 1,
    grantable_now: true,
    queue_ahead: 0,
    energy_kwh: 1,
    cost: 1,
    subsidy: 0,
    net_cost: 1,
    currency: 'CNY',
    tariff: 'example',
    tariff_is_example: true,
    cheapest_start: null,
    cheapest_saving: null,
    ...over
  };
}

describe('cheaperWindow', () => {
  it('hints when a cheaper window starts within the horizon', () => {
    const hint = cheaperWindow(
      estimate({ cheapest_start: '2026-11-02T12:00:00Z', cheapest_saving: 0.4 }),
      NOW
    );
    expect(hint).toEqual({ inSeconds: 7200, saving: 0.4 });
  });
  it('stays quiet when the window is far off', () => {
    expect(
      cheaperWindow(estimate({ cheapest_start: '2026-11-03T08:00:00Z', cheapest_saving: 0.4 }), NOW)
    ).toBeNull();
  });
  it('stays quiet without a saving', () => {
    expect(cheaperWindow(estimate({}), NOW)).toBeNull();
  });
});

function run(over: Partial<RunRead>): RunRead {
  return {
    id: 'run_1',
    project_id: 'p',
    user_id: 'u',
    template: 'finetune',
    template_sha256: null,
    parameters: {},
    lease_id: null,
    status: 'running',
    created_at: '2026-11-02T09:00:00Z',
    started_at: null,
    ended_at: null,
    metrics: {},
    provenance: {},
    error: null,
    notebook_sha256: null,
    artifacts: null,
    ...over
  };
}

describe('runProgress', () => {
  it('reads step out of max_steps', () => {
    expect(runProgress(run({ metrics: { step: 25 }, parameters: { max_steps: 100 } }))).toBe(0.25);
  });
  it('prefers a recorded progress', () => {
    expect(
      runProgress(run({ metrics: { progress: 0.6, step: 1 }, parameters: { max_steps: 100 } }))
    ).toBe(0.6);
  });
  it('is unknown for a running run that reports nothing', () => {
    expect(runProgress(run({}))).toBeNull();
  });
  it('is complete for an ended run', () => {
    expect(runProgress(run({ status: 'failed' }))).toBe(1);
  });
});

const param = (
  type: TemplateParameterRead['type'],
  value: unknown,
  name = 'p'
): TemplateParameterRead => ({
  name,
  type,
  default: value,
  help: ''
});

describe('coerceParameter', () => {
  it('parses integers with underscores', () => {
    expect(coerceParameter(param('int', 1), '1_000')).toEqual({ ok: true, value: 1000 });
  });
  it('rejects a fraction for an integer', () => {
    expect(coerceParameter(param('int', 1), '1.5')).toEqual({
      ok: false,
      message: 'expected an integer'
    });
  });
  it('parses floats in exponent form', () => {
    expect(coerceParameter(param('float', 0.1), '1e-3')).toEqual({ ok: true, value: 0.001 });
  });
  it('rejects an empty float', () => {
    expect(coerceParameter(param('float', 0.1), ' ').ok).toBe(false);
  });
  it('reads yes and off as booleans', () => {
    expect(coerceParameter(param('bool', false), 'yes')).toEqual({ ok: true, value: true });
    expect(coerceParameter(param('bool', true), 'OFF')).toEqual({ ok: true, value: false });
  });
  it('rejects an object where a list is expected', () => {
    expect(coerceParameter(param('list', []), '{"a": 1}')).toEqual({
      ok: false,
      message: 'expected a JSON array'
    });
  });
  it('keeps strings as typed', () => {
    expect(coerceParameter(param('str', ''), ' spaced ')).toEqual({ ok: true, value: ' spaced ' });
  });
  it('takes JSON or else text for an untyped parameter', () => {
    expect(coerceParameter(param('None', null), '[1]')).toEqual({ ok: true, value: [1] });
    expect(coerceParameter(param('None', null), 'abc')).toEqual({ ok: true, value: 'abc' });
  });
});

describe('validateParameters', () => {
  const params = [
    param('int', 50, 'max_steps'),
    param('float', 0.001, 'lr'),
    param('None', 'os.cpu_count()', 'workers'),
    param('list', ['a'], 'labels')
  ];

  it('sends only the fields changed from their defaults', () => {
    const texts = Object.fromEntries(params.map(p => [p.name, parameterText(p)]));
    const result = validateParameters(params, { ...texts, max_steps: '20' });
    expect(result).toEqual({ values: { max_steps: 20 }, errors: [] });
  });
  it('keeps an expression default untouched', () => {
    const result = validateParameters(params, { workers: 'os.cpu_count()' });
    expect(result.values).toEqual({});
  });
  it('names each field that does not fit', () => {
    const result = validateParameters(params, { max_steps: 'many', labels: '"a"' });
    expect(result.errors).toEqual([
      { name: 'max_steps', message: 'expected an integer' },
      { name: 'labels', message: 'expected a JSON array' }
    ]);
  });
  it('rejects an unknown parameter', () => {
    expect(validateParameters(params, { epochs: '3' }).errors).toEqual([
      { name: 'epochs', message: 'unknown parameter' }
    ]);
  });
});
