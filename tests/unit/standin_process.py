# -*- coding: utf-8 -*-
"""Start and stop the lab's Ollama stand-in (tests/lab/standin/ollama) in tests.

The stand-in prints ``Listening on ADDR (version V)`` on stderr; the helper
reads it to learn the port. Only 127.0.0.1 and ::1 are ever used.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading

SCRIPT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                       "..", "lab", "standin", "ollama"))
# The interpreter that runs the stand-in (set STANDIN_PYTHON to try another one).
PYTHON = os.environ.get("STANDIN_PYTHON") or sys.executable
START_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0
LISTEN_RE = re.compile(r'msg="Listening on (\S+) \(version ([^)]+)\)"')


def _ipv6_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


IPV6 = _ipv6_available()


def _env(**overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    env.update(overrides)
    return env


class Standin(object):
    """A running stand-in: its process, its output lines (stderr's log and
    stdout's [GIN] request lines, in one stream), address and port."""

    def __init__(self, **env):
        self.proc = subprocess.Popen([PYTHON, SCRIPT, "serve"], env=_env(**env),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.lines = []
        self.ready = threading.Event()
        self.address = self.version = None
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            match = LISTEN_RE.search(line)
            if match and not self.ready.is_set():
                self.address, self.version = match.group(1), match.group(2)
                self.ready.set()
        self.ready.set()

    def wait_ready(self):
        if not self.ready.wait(START_TIMEOUT) or self.address is None:
            self.stop()
            raise AssertionError("stand-in did not start: %s" % "\n".join(self.lines))
        return self

    @property
    def port(self):
        return int(self.address.rsplit(":", 1)[1])

    @property
    def stderr(self):
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=START_TIMEOUT)
        finally:
            self.reader.join(START_TIMEOUT)
            self.proc.stdout.close()
