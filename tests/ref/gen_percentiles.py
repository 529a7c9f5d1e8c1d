#!/usr/bin/python3
"""
gen_percentiles.py -- writes tests/fixtures/percentiles.json: random samples
and NumPy's 5th, 50th and 95th percentiles of each, the run aggregates
`median`, `p05` and `p95` of GET /v1/runs/{run} are checked against.

    /usr/bin/python3 tests/ref/gen_percentiles.py

numpy.percentile with its default method ("linear": position q(n-1) between
the closest ranks). Deterministic: one generator per case, seeded with
crc32(case name). Values are written with float repr, which round-trips
exactly, so the C test reads the very doubles NumPy saw.
"""
import json
import os
import zlib

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
OUT = os.path.join(ROOT, 'tests', 'fixtures', 'percentiles.json')


def sample(name, n, kind):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if kind == 'uniform':
        return rng.uniform(0.0, 1.0, n)
    if kind == 'normal':
        return rng.normal(-3.0, 25.0, n)
    if kind == 'ties':  # few distinct values: many equal neighbours
        return rng.integers(-5, 6, n) / 4.0
    if kind == 'wide':  # magnitudes from 1e-9 to 1e6, both signs
        return rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-9, 6, n)
    raise ValueError(kind)


def main():
    cases = []
    for kind in ('uniform', 'normal', 'ties', 'wide'):
        for n in (1, 2, 3, 4, 5, 7, 10, 19, 20, 21, 40, 99, 100, 101, 256, 257):
            name = f'{kind}-{n}'
            v = sample(name, n, kind)
            p05, p50, p95 = np.percentile(v, [5, 50, 95])
            # The median by numpy.median agrees to within rounding (it averages the middle pair).
            assert abs(np.median(v) - p50) <= 1e-12 * max(1.0, abs(p50))
            cases.append({'name': name, 'values': [float(x) for x in v],
                          'p05': float(p05), 'median': float(p50), 'p95': float(p95)})
    doc = {'generator': 'tests/ref/gen_percentiles.py', 'numpy': np.__version__, 'method': 'linear',
           'cases': cases}
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'{OUT}: {len(cases)} cases, numpy {np.__version__}')


if __name__ == '__main__':
    main()
