#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
NAME
    metrics_check.py - check /metrics scrapes against docs/operations.md, and the
    series that alert rules and a Grafana dashboard query against scrapes

DESCRIPTION
    docs DOC MODE SCRAPE
        Parse the family table of DOC's "## Metrics" section (columns family,
        type, labels, modes, what) and the `stats` counter names of its
        "## Counters" section. For the scrape of a daemon in MODE: every row
        whose modes name MODE is there, with that TYPE, and every sample has
        exactly the documented label names (histograms: plus `le` on
        _bucket); a documented value list not ending in "..." admits no other
        value. A histogram has cumulative buckets ending in le="+Inf", whose
        count equals _count. Every family of the scrape is a row, or a
        `stats` counter (smtpscreen_NAME[_total], NAME in the Counters
        section; host_X_packets with X there).
    names OUTDIR SCRAPE... -- FILE...
        Every metric name an expression in FILE queries (Prometheus rule files:
        .yml/.yaml, each rule's expr; Grafana dashboards: .json, each target's
        expr) is a series of at least one SCRAPE. Writes the expressions, with
        Grafana's variables replaced, to OUTDIR/BASENAME.exprs.yml as one rule
        group, so that the caller can have promtool parse them.

CONTRACT
    Exit 0 when everything holds, 1 with one line per problem, 2 on usage.
"""
import json
import os
import re
import sys

import yaml

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')
# words of PromQL that look like metric names but are not
PROMQL_WORDS = {
    'sum', 'rate', 'irate', 'increase', 'histogram_quantile', 'by', 'without',
    'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'max',
    'min', 'avg', 'count', 'time', 'changes', 'resets', 'delta', 'deriv',
    'topk', 'bottomk', 'abs', 'clamp_min', 'clamp_max', 'absent', 'le', 'offset',
    'max_over_time', 'min_over_time', 'avg_over_time', 'label_replace', 'vector',
    'scalar', 'bool', 'up', 'round', 'ceil', 'floor', 'sort', 'sort_desc',
}


def parse_scrape(path):
    """{family: type}, [(name, {label: value}, value)]; errors on bad lines"""
    types, samples, errs = {}, [], []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line or line.startswith('# HELP '):
                continue
            if line.startswith('# TYPE '):
                _, _, name, typ = line.split(' ', 3)
                if name in types:
                    errs.append(f'{path}:{n}: TYPE of {name} twice')
                types[name] = typ
                continue
            m = SAMPLE.match(line)
            if not m:
                errs.append(f'{path}:{n}: not a sample: {line}')
                continue
            labels, rest = {}, m.group(2) or ''
            while rest:
                lm = LABEL.match(rest)
                if not lm:
                    errs.append(f'{path}:{n}: bad labels: {line}')
                    break
                labels[lm.group(1)] = lm.group(2)
                rest = rest[lm.end():]
            samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples, errs


def family_of(name, types):
    """the family a sample name belongs to"""
    if name in types:
        return name
    for suf in ('_bucket', '_sum', '_count'):
        if name.endswith(suf) and types.get(name[:-len(suf)]) == 'histogram':
            return name[:-len(suf)]
    return None


def section(doc, title):
    """the text of the '## title' section"""
    m = re.search(r'^## ' + re.escape(title) + r'.*?$(.*?)(?=^## |\Z)', doc,
                  re.M | re.S)
    if not m:
        sys.exit(f'no "## {title}" section in the docs')
    return m.group(1)


def parse_table(doc):
    """[{family, type, labels: {name: set or None}, modes: set}]"""
    rows = []
    for line in section(doc, 'Metrics').splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 5 or not cells[0].startswith('`'):
            continue
        labels = {}
        for part in filter(None, (p.strip() for p in cells[2].split(';'))):
            ticks = re.findall(r'`([^`]*)`', part.split('(')[0])
            if not ticks:
                sys.exit(f'docs: label cell without a name: {cells[2]}')
            vals = part.split('=', 1)[1] if '=' in part else '...'
            vals = vals.split('(')[0].strip()
            labels[ticks[0]] = None if vals.endswith('...') else set(ticks[1:])
        rows.append({'family': cells[0].strip('`'), 'type': cells[1],
                     'labels': labels,
                     'modes': set(re.findall(r'[a-z]+', cells[3]))})
    if len(rows) < 10:
        sys.exit(f'docs: only {len(rows)} rows in the Metrics table')
    return rows


def check_docs(doc_path, mode, scrape):
    with open(doc_path, encoding='utf-8') as f:
        doc = f.read()
    rows = parse_table(doc)
    words = set(re.findall(r'`([a-z0-9_<>]+)`', section(doc, 'Counters')))
    types, samples, errs = parse_scrape(scrape)
    by_family = {}
    for name, labels, value in samples:
        fam = family_of(name, types)
        if fam is None:
            errs.append(f'{name}: a sample without a TYPE line')
            continue
        by_family.setdefault(fam, []).append((name, labels, value))
    documented = set()
    for r in rows:
        fam = r['family']
        documented.add(fam)
        if mode not in r['modes']:
            continue
        if fam not in types:
            errs.append(f'{fam}: documented for {mode}, not in the scrape')
            continue
        if types[fam] != r['type']:
            errs.append(f'{fam}: type {types[fam]}, docs say {r["type"]}')
        want = set(r['labels'])
        for name, labels, value in by_family.get(fam, []):
            got = set(labels) - ({'le'} if name == fam + '_bucket' else set())
            if got != want:
                errs.append(f'{name}{labels}: labels {sorted(got)}, docs say '
                            f'{sorted(want)}')
                continue
            for k, allowed in r['labels'].items():
                if allowed is not None and labels[k] not in allowed:
                    errs.append(f'{name}: {k}="{labels[k]}" not in the docs '
                                f'({sorted(allowed)})')
        if types[fam] == 'histogram':
            errs += check_histogram(fam, by_family.get(fam, []))
        if not by_family.get(fam):
            errs.append(f'{fam}: a TYPE line but no sample')
    for fam in types:
        if fam in documented:
            continue
        base = re.sub(r'_total$', '', fam.removeprefix('smtpscreen_'))
        host = re.fullmatch(r'host_(\w+)_packets', base)
        if not fam.startswith('smtpscreen_') or not (
                base in words or (host and host.group(1) in words)):
            errs.append(f'{fam}: emitted but neither in the Metrics table nor '
                        f'a stats counter of the Counters section')
    return errs


def check_histogram(fam, samples):
    errs, groups = [], {}
    for name, labels, value in samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != 'le'))
        g = groups.setdefault(key, {'b': [], 'sum': None, 'count': None})
        if name == fam + '_bucket':
            g['b'].append((float(labels['le']), value))
        elif name == fam + '_sum':
            g['sum'] = value
        elif name == fam + '_count':
            g['count'] = value
    for key, g in groups.items():
        b = g['b']
        if not b or b[-1][0] != float('inf') or g['sum'] is None or g['count'] is None:
            errs.append(f'{fam}{dict(key)}: needs buckets up to le="+Inf", _sum, _count')
            continue
        if [x[0] for x in b] != sorted(x[0] for x in b) or \
                any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            errs.append(f'{fam}{dict(key)}: buckets not ascending and cumulative')
        if b[-1][1] != g['count']:
            errs.append(f'{fam}{dict(key)}: +Inf bucket {b[-1][1]} != _count {g["count"]}')
    return errs


def exprs_of(path):
    """the PromQL expressions of a rule file or a Grafana dashboard"""
    with open(path, encoding='utf-8') as f:
        if path.endswith('.json'):
            out = []

            def walk(o):
                if isinstance(o, dict):
                    if isinstance(o.get('expr'), str):
                        out.append(o['expr'])
                    for v in o.values():
                        walk(v)
                elif isinstance(o, list):
                    for v in o:
                        walk(v)
            walk(json.load(f))
            return out
        rules = yaml.safe_load(f)
        return [r['expr'] for g in rules['groups'] for r in g['rules']]


def metric_names(expr):
    """identifiers of expr that name series (not functions, labels, keywords)"""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # label values
    e = re.sub(r'\{[^}]*\}', '', e)                     # matchers
    e = re.sub(r'\[[^\]]*\]', '', e)                    # ranges
    e = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', '', e)
    names = set()
    for m in re.finditer(r'[a-zA-Z_:][a-zA-Z0-9_:]*', e):
        w = m.group(0)
        after = e[m.end():].lstrip()
        if w in PROMQL_WORDS or after.startswith('('):
            continue
        if re.fullmatch(r'\d*[a-z]', w) or w.startswith('__'):
            continue
        names.add(w)
    return names


def grafana_vars(expr):
    """Grafana's variables replaced so that promtool parses the expression"""
    e = expr.replace('$__rate_interval', '5m').replace('$__interval', '1m')
    e = e.replace('$__range', '1h')
    return re.sub(r'\$\{?(\w+)\}?', r'.*', e)


def check_names(outdir, scrapes, files):
    series, errs = set(), []
    for s in scrapes:
        _, samples, e = parse_scrape(s)
        errs += e
        series |= {name for name, _, _ in samples}
    series.add('up')        # Prometheus's own, per target
    for path in files:
        exprs = exprs_of(path)
        if not exprs:
            errs.append(f'{path}: no expressions')
        for expr in exprs:
            for n in sorted(metric_names(expr)):
                if n not in series:
                    errs.append(f'{path}: "{expr}" queries {n}, which no scrape has')
        out = os.path.join(outdir, os.path.basename(path) + '.exprs.yml')
        with open(out, 'w', encoding='utf-8') as f:
            yaml.safe_dump({'groups': [{'name': 'exprs', 'rules': [
                {'record': f'check:expr{i}', 'expr': grafana_vars(x)}
                for i, x in enumerate(exprs)]}]}, f)
    return errs


def main(argv):
    if len(argv) == 4 and argv[0] == 'docs':
        errs = check_docs(argv[1], argv[2], argv[3])
    elif len(argv) >= 5 and argv[0] == 'names' and '--' in argv:
        i = argv.index('--')
        errs = check_names(argv[1], argv[2:i], argv[i + 1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
