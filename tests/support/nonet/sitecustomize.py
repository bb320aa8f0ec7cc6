"""Loaded by every Python process of the no-network test (via PYTHONPATH).

Any attempt to resolve a name or open an internet socket is written to the file
named by MODELWARD_NONET_LOG and then fails, in this process and in every child
it starts (joblib workers, sandbox workers) because they inherit PYTHONPATH.
"""

import os
import socket
import traceback

_LOG = os.environ.get("MODELWARD_NONET_LOG")


def _record(what):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(f"pid {os.getpid()}: {what}\n")
            f.write("".join(traceback.format_stack(limit=12)))
    raise OSError(f"network access blocked by test: {what}")


_orig_connect = socket.socket.connect
_orig_connect_ex = socket.socket.connect_ex


def _is_inet(sock):
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def _connect(self, address):
    if _is_inet(self):
        _record(f"connect {address!r}")
    return _orig_connect(self, address)


def _connect_ex(self, address):
    if _is_inet(self):
        _record(f"connect_ex {address!r}")
    return _orig_connect_ex(self, address)


def _getaddrinfo(host, *args, **kwargs):
    _record(f"getaddrinfo {host!r}")


socket.socket.connect = _connect
socket.socket.connect_ex = _connect_ex
socket.getaddrinfo = _getaddrinfo
socket.gethostbyname = lambda host: _record(f"gethostbyname {host!r}")
