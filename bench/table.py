#!/usr/bin/python3
"""Prints bench/run's JSON lines as one markdown table: medians over repetitions, with ratios."""
import json
import statistics
import sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows:  # issue 13's target is stated per server CPU second
    if r.get('scenario') in ('fanout', 'poll', 'http') and (r.get('server_cpu_us_per_op') or 0) > 0:
        r['ops_per_cpu_s'] = r['deliveries_per_cpu_s'] = 1e6 / r['server_cpu_us_per_op']
by = defaultdict(list)
for r in rows:
    # The HTTP rows run other server programs (portico-http, node-http) in the same columns.
    by[(r['config'], r['label'].replace('-http', ''))].append(r)


def med(config, label, key):
    vals = [r[key] for r in by.get((config, label), []) if key in r and r[key] is not None and r[key] >= 0]
    return statistics.median(vals) if vals else None


SERVERS = ['portico', 'phost', 'node', 'uws', 'raw', 'rawtuned', 'portico2']
HEAD = {'portico': 'portico (1 thr)', 'phost': 'portico on net::host (1 thr)',
        'node': 'Node socket.io', 'uws': 'Node socket.io on uWS',
        'raw': 'raw wspp (default cfg)',
        'rawtuned': 'raw wspp (portico cfg)', 'portico2': 'portico (2 thr)*'}

METRICS = [
    ('echo-sat', 'msg_per_s', 'ack echo, saturation: msg/s', 'higher'),
    ('echo-sat', 'server_cpu_us_per_op', 'ack echo, saturation: server CPU µs/msg', 'lower'),
    ('echo-sat', 'server_cpu_util', 'ack echo, saturation: server CPU use (cores)', ''),
    ('echo-sat', 'loadgen_cpu_util', 'ack echo, saturation: loadgen CPU use (cores)', ''),
    ('echo-5k', 'p50_us', 'ack echo @5k msg/s: p50 RTT µs', 'lower'),
    ('echo-5k', 'p99_us', 'ack echo @5k msg/s: p99 RTT µs', 'lower'),
    ('echo-5k', 'max_us', 'ack echo @5k msg/s: max RTT µs', 'lower'),
    ('echo-5k', 'server_cpu_us_per_op', 'ack echo @5k msg/s: server CPU µs/msg', 'lower'),
    ('fanout-100', 'deliveries_per_s', 'fan-out to 100: deliveries/s', 'higher'),
    ('fanout-100', 'p50_us', 'fan-out to 100: p50 latency µs', 'lower'),
    ('fanout-100', 'p99_us', 'fan-out to 100: p99 latency µs', 'lower'),
    ('fanout-100', 'server_cpu_us_per_op', 'fan-out to 100: server CPU µs/delivery', 'lower'),
    ('fanout-1000', 'deliveries_per_s', 'fan-out to 1000: deliveries/s', 'higher'),
    ('fanout-1000', 'p50_us', 'fan-out to 1000: p50 latency µs', 'lower'),
    ('fanout-1000', 'p99_us', 'fan-out to 1000: p99 latency µs', 'lower'),
    ('fanout-1000', 'server_cpu_us_per_op', 'fan-out to 1000: server CPU µs/delivery', 'lower'),
]
for n in (100, 1000):
    c = f'cluster-fanout-{n}'
    METRICS += [
        (c, 'deliveries_per_s', f'2 servers + Redis, fan-out to {n}: deliveries/s', 'higher'),
        (c, 'p50_us', f'2 servers + Redis, fan-out to {n}: p50 latency µs', 'lower'),
        (c, 'p99_us', f'2 servers + Redis, fan-out to {n}: p99 latency µs', 'lower'),
        (c, 'server_cpu_us_per_op', f'2 servers + Redis, fan-out to {n}: CPU µs/delivery, both servers', 'lower'),
        (c, 'deliveries_per_cpu_s', f'2 servers + Redis, fan-out to {n}: deliveries per server CPU s', 'higher'),
        (c, 'server_cpu_util', f'2 servers + Redis, fan-out to {n}: CPU use of both servers (cores)', ''),
        (c, 'bus_cpu_us_per_op', f'2 servers + Redis, fan-out to {n}: redis-server CPU µs/delivery', 'lower'),
    ]
METRICS += [
    ('connrate', 'conn_per_s', 'connects+handshakes/s', 'higher'),
    ('connrate', 'server_cpu_us_per_op', 'server CPU µs per connection', 'lower'),
    ('poll', 'round_trips_per_s', 'long-polling, 100 clients: round trips/s (POST event + GET ack)', 'higher'),
    ('poll', 'server_cpu_us_per_op', 'long-polling: server CPU µs per round trip', 'lower'),
    ('poll', 'ops_per_cpu_s', 'long-polling: round trips per server CPU second', 'higher'),
    ('poll', 'p50_us', 'long-polling: p50 round trip µs', 'lower'),
    ('poll', 'connects_per_request', 'long-polling: TCP connections per HTTP request', ''),
    ('http', 'requests_per_s', 'HTTP GET route (short JSON), 100 clients: requests/s', 'higher'),
    ('http', 'server_cpu_us_per_op', 'HTTP GET route: server CPU µs per request', 'lower'),
    ('http', 'ops_per_cpu_s', 'HTTP GET route: requests per server CPU second', 'higher'),
    ('http', 'p50_us', 'HTTP GET route: p50 µs', 'lower'),
    ('http', 'connects_per_request', 'HTTP GET route: TCP connections per request', ''),
]
for n in (1000, 3000, 5000, 10000):
    METRICS.append((f'idle-{n}', 'rss_per_conn_kb', f'idle RSS per connection, {n} clients: KB', 'lower'))


def fmt(v):
    if v is None:
        return '–'
    if abs(v) >= 1000:
        return f'{v:,.0f}'
    if abs(v) >= 10:
        return f'{v:.1f}'
    return f'{v:.2f}'


def ratio(a, b):
    return f'{a / b:.2f}×' if a is not None and b not in (None, 0) else '–'


present = [s for s in SERVERS if any(k[1] == s for k in by)]
host = 'phost' in present
print('| metric | better | ' + ' | '.join(HEAD[s] for s in present) + ' | portico/Node | portico/uWS | portico/raw |'
      + (' host/Node | host/uWS |' if host else ''))
print('|---|---|' + '---|' * len(present) + '---|---|---|' + ('---|---|' if host else ''))
for config, key, title, better in METRICS:
    vals = {s: med(config, s, key) for s in present}
    if all(v is None for v in vals.values()):
        continue
    print(f'| {title} | {better} | ' + ' | '.join(fmt(vals[s]) for s in present) +
          f" | {ratio(vals.get('portico'), vals.get('node'))} | {ratio(vals.get('portico'), vals.get('uws'))}"
          f" | {ratio(vals.get('portico'), vals.get('raw'))} |"
          + (f" {ratio(vals.get('phost'), vals.get('node'))} | {ratio(vals.get('phost'), vals.get('uws'))} |" if host else ''))

for key, what in (('compile_s', 'wall'), ('compile_cpu_s', 'CPU')):
    comp = {l: med('compile', l, key) for l in ('hello', 'bare')}
    if comp['hello'] is not None:
        print(f"| compile {what} time, examples/hello vs bare websocketpp echo: s | lower | hello {fmt(comp['hello'])} | "
              f"bare {fmt(comp['bare'])} | ratio {ratio(comp['hello'], comp['bare'])} |" + ' |' * len(present))
    sep = {l: med('compile', l, key) for l in ('hello-sep', 'src-once')}
    if sep['hello-sep'] is not None:
        print(f"| compile {what} time, hello's TU separately compiled vs bare echo: s | lower | hello {fmt(sep['hello-sep'])} | "
              f"bare {fmt(comp['bare'])} | ratio {ratio(sep['hello-sep'], comp['bare'])} | src once {fmt(sep['src-once'])} |"
              + ' |' * max(0, len(present) - 1))

xc = [(l, c) for c in ('xcheck-loadgen', 'xcheck-sioclient') for l in ('portico', 'node') if (c, l) in by]
if xc:
    print()
    print('Load generator cross-check (10 clients, 500 msg/s, ack echo):')
    print()
    print('| server | client | msg/s | p50 µs | p99 µs | max µs |')
    print('|---|---|---|---|---|---|')
    for l, c in xc:
        print(f"| {l} | {'C++ loadgen' if c == 'xcheck-loadgen' else 'npm socket.io-client'} | "
              f"{fmt(med(c, l, 'msg_per_s'))} | {fmt(med(c, l, 'p50_us'))} | {fmt(med(c, l, 'p99_us'))} | "
              f"{fmt(med(c, l, 'max_us'))} |")
if 'portico2' in present:
    print()
    print('* portico (2 thr): server on both cores, sharing one with the load generator.')
