# moto's S3 server (the same application and werkzeug server as `python -m moto.server`) with
# one more log: a JSON line per request with its method, target, User-Agent, the bytes of body
# it received and sent, and its status, written to $HUBCTL_MOTO_WIRE_LOG when the response is
# done. The tests read it to tell who (git-lfs or hubctl) sent or fetched an object's bytes.
# Usage: python -c "$(cat moto_wire.py)" HOST PORT
import json
import os
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

LOG = open(os.environ["HUBCTL_MOTO_WIRE_LOG"], "a", buffering=1)
LOCK = threading.Lock()


class Counting:
    """wsgi.input, counting the bytes read from it."""

    def __init__(self, inner):
        self.inner = inner
        self.n = 0

    def read(self, *a):
        b = self.inner.read(*a)
        self.n += len(b)
        return b

    def readline(self, *a):
        b = self.inner.readline(*a)
        self.n += len(b)
        return b

    def readinto(self, b):
        n = self.inner.readinto(b)
        self.n += n or 0
        return n

    def __iter__(self):
        for line in self.inner:
            self.n += len(line)
            yield line

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Logged:
    """The response's body, counted; the log line is written when the server closes it."""

    def __init__(self, result, environ, counting, status):
        self.result, self.environ, self.counting, self.status = result, environ, counting, status
        self.out = 0

    def __iter__(self):
        for chunk in self.result:
            self.out += len(chunk)
            yield chunk

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            e = self.environ
            line = json.dumps({
                "method": e.get("REQUEST_METHOD", ""),
                "target": e.get("RAW_URI") or e.get("REQUEST_URI") or e.get("PATH_INFO", ""),
                "user_agent": e.get("HTTP_USER_AGENT", ""),
                "range": e.get("HTTP_RANGE", ""),
                "bytes_in": self.counting.n,
                "bytes_out": self.out,
                "status": int(self.status[0] or 0),
            })
            with LOCK:
                LOG.write(line + "\n")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    inner = DomainDispatcherApplication(create_backend_app)
    inner.debug = True

    def app(environ, start_response):
        counting = Counting(environ["wsgi.input"])
        environ["wsgi.input"] = counting
        status = [None]

        def sr(s, headers, exc_info=None):
            status[0] = s.split(" ", 1)[0]
            return start_response(s, headers, exc_info)

        return Logged(inner(environ, sr), environ, counting, status)

    run_simple(host, port, app, threaded=True, use_reloader=False)


main()
