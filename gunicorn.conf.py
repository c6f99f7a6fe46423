"""gunicorn's settings: read by gunicorn started in the project root (the Dockerfile's and
docker-compose.yml's web command) and by ``benchmarks/lookup.py``, so that the benchmark
measures the portal as it is deployed. Command-line options override these.

Sync workers, ``cores + 1`` of them (``WEB_CONCURRENCY`` sets the number). A worker is a
process serving one request at a time, so it needs company only for the time its request
waits: a public lookup spends about three quarters of its time on its own CPU and a quarter
waiting on PostgreSQL and Redis (``benchmarks/lookup_cpu.py``: page GET 907 µs of CPU in
1,218 µs), so one worker per core plus one keeps every core busy. More workers than that only
take turns on the same cores, and each turn costs: on the 2-core development machine, with
PostgreSQL, Redis and the load generator on the same cores, ``benchmarks/lookup.py`` at 16
connections and 2,000 certificates, alternating runs (2026-11-24, session 21):

- 3 workers against 5 (``2 × cores + 1``, the earlier setting): 3 made more requests per
  second than 5 in 15 of 17 paired runs of the page and 15 of 17 of the API; over the last
  eight pairs, page GET 907–1,250 against 849–1,088 req/s (p99 16–28 ms against 22–38), API
  GET 1,281–1,439 against 1,008–1,319;
- 2 and 4 workers against 3: 4 fell below 3 in four pairs of five; 2 was close to 3 (ahead in
  four pairs of five) but leaves a single long request (an export, an upload) holding half the
  server;
- gthread, 2 workers × 8 threads (keep-alive), measured earlier: 1,078–1,121 requests/s with
  p99 52–57 ms on the API.

Runs on this shared machine move by 10–30 % from one minute to the next, which is why only
paired, alternating runs say anything here. Where PostgreSQL is on another machine a request
waits longer (the network's round trips): set ``WEB_CONCURRENCY`` higher there.

Threads sharing one interpreter queue for its lock: a request that is ready waits for up to
eight others to give it back, and that wait is the long tail. Processes are scheduled by the
kernel, which shares the cores fairly.

A sync worker serves one connection at a time, so gunicorn must sit behind a proxy that
buffers whole requests and responses before passing them on (nginx does by default), as the
TLS-terminating proxy production runs behind does: a phone on a slow link then never holds a
worker.

Every worker keeps one PostgreSQL connection open (``CONN_MAX_AGE``): workers × web containers,
plus Celery's, must stay under the server's ``max_connections`` (100 by default). The cores
counted are those this process may run on (a container's cpuset), not the host's; a CPU quota
(``--cpus``) is not seen, so set ``WEB_CONCURRENCY`` there, as docker-compose.yml does.
"""

import os

bind = "0.0.0.0:8000"
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)) + 1)
# A request that takes longer is stuck: the worker is replaced, and the client gets a 502 from
# the proxy rather than waiting on it.
timeout = 30
graceful_timeout = 30

# The access log (compose writes it to stdout): the path without its query string, and no
# Referer. A lookup by certificate number carries the number and the holder's name in its
# query (GET /verify/?cert_no=…&name=…), and the page a lookup answers is the Referer of the
# next request; neither belongs in a log. (An ID number never travels in a URL at all.)
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
