"""gunicorn settings of the web process (docs/operations.md §2.3).

    gunicorn -c /opt/emreserve/src/deploy/gunicorn.conf.py "core:create_app()"

Overridable from the environment without editing this file: GUNICORN_BIND (comma-separated
addresses), WEB_CONCURRENCY (workers), GUNICORN_THREADS.
"""

import os
import shutil

# nginx reaches the loopback address; add the host's internal address for Prometheus (§8).
bind = [
    address.strip()
    for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
    if address.strip()
]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))  # about 2 per core
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Long work (planning large problems) runs in the worker process, not in a request.
timeout = 120
graceful_timeout = 30
max_requests = 2000  # recycle workers now and then
max_requests_jitter = 200
# gunicorn >= 25.1 opens a control socket under $HOME by default; the service user has no home
# (ProtectHome=) and systemd already manages the process (reload: HUP, stop: TERM).
control_socket_disable = True
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


def on_starting(server):
    # /metrics adds up all workers through files in this folder; it must start empty.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
