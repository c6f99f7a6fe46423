"""gunicorn's settings: read by gunicorn started in the project root (the Dockerfile's and
docker-compose.yml's web command) and by ``benchmarks/lookup.py``, so that the benchmark
measures the portal as it is deployed. Command-line options override these.

Sync workers, ``2 × cores + 1`` of them (``WEB_CONCURRENCY`` sets the number). Measured on the
2-core development machine with ``benchmarks/lookup.py`` at 16 connections and 1,000,000
certificates, JSON lookups by name + ID number:

- gthread, 2 workers × 8 threads (keep-alive): 1,078–1,121 requests/s, p99 52–57 ms;
- sync, 4 workers: 1,231–1,251 requests/s, p99 16–21 ms (3 and 6 workers no better);
- sync, 5 workers, in later runs: 1,282–1,349 requests/s, p99 15–17 ms (runs on this machine
  vary by 5–15 %).

Threads sharing one interpreter queue for its lock: a request that is ready waits for up to
eight others to give it back, and that wait is the long tail. Processes are scheduled by the
kernel, which shares the cores fairly; one more per core covers the time a request waits on
PostgreSQL or Redis.

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
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * len(os.sched_getaffinity(0)) + 1)
# A request that takes longer is stuck: the worker is replaced, and the client gets a 502 from
# the proxy rather than waiting on it.
timeout = 30
graceful_timeout = 30

# The access log (compose writes it to stdout): the path without its query string, and no
# Referer. A lookup by certificate number carries the number and the holder's name in its
# query (GET /verify/?cert_no=…&name=…), and the page a lookup answers is the Referer of the
# next request; neither belongs in a log. (An ID number never travels in a URL at all.)
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
