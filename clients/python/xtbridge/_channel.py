"""The request channel: one DEALER socket to the bridge's ROUTER, shared by all threads.

Why a lock: zmq sockets are not thread-safe, and xtquant lets any thread call the trader
(strategy thread, callbacks, async-query worker). Every exchange takes the lock for its
whole send/receive, so a reply is always read by the thread that asked. Waiting for the
lock counts toward the call's timeout, so a call returns within its timeout even while
another thread's exchange with a dead bridge holds the channel.

Retries: the request is re-sent with the SAME bytes (same request_id) every
`retry_interval` until a reply arrives or `timeout` passes. The DEALER keeps one explicit
routing id for its whole life (also across socket re-creation), so the bridge's
idempotency table, keyed by (routing id, request_id), answers a retried order with the
original reply instead of placing it twice. ZMQ_IMMEDIATE keeps requests from queueing
while no connection exists, and after giving up the socket is re-created with LINGER 0 so
a request we reported as failed cannot reach a bridge that comes back later.
"""

import logging
import os
import socket
import threading
import time
import uuid

import zmq

from ._pb import pb2

log = logging.getLogger('xtbridge')


def new_routing_id():
    """'xtb-py-<host>-<pid>-<random hex>': unique per client instance, readable in logs."""
    host = socket.gethostname().split('.')[0][:32] or 'host'
    return ('xtb-py-%s-%d-%s' % (host, os.getpid(), uuid.uuid4().hex[:12])).encode()


def apply_curve(sock, curve):
    """Sets CURVE client keys on a socket when all three are given (z85 text or bytes)."""
    if not curve or not curve.get('server_public_key'):
        return
    enc = lambda k: k.encode() if isinstance(k, str) else k
    sock.curve_serverkey = enc(curve['server_public_key'])
    sock.curve_publickey = enc(curve['public_key'])
    sock.curve_secretkey = enc(curve['secret_key'])


class _Release(object):
    """`with _Release(lock):` releases an already acquired lock on exit."""

    def __init__(self, lock):
        self.lock = lock

    def __enter__(self):
        return self.lock

    def __exit__(self, *exc):
        self.lock.release()


class Channel(object):
    """Request/reply over a DEALER with retries. Owns its socket; see module doc."""

    def __init__(self, ctx, endpoint, timeout=10.0, retry_interval=None, curve=None,
                 routing_id=None):
        self.ctx = ctx
        self.endpoint = endpoint
        self.timeout = float(timeout)
        self.retry_interval = (float(retry_interval) if retry_interval
                               else max(0.05, min(1.0, self.timeout / 4.0)))
        self.curve = curve
        self.routing_id = routing_id or new_routing_id()
        self.lock = threading.Lock()    # held for a whole exchange
        self._id_lock = threading.Lock()
        self._prefix = uuid.uuid4().hex[:8]
        self._counter = 0
        self._sock = None
        self.sends = 0          # how many frames were sent in total (tests look at this)
        self.closed = False

    def _open(self):
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, self.routing_id)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        apply_curve(sock, self.curve)
        sock.connect(self.endpoint)
        self._sock = sock

    def _reset(self):
        if self._sock is not None:
            self._sock.close(0)
        self._sock = None

    def close(self):
        with self.lock:
            self.closed = True
            self._reset()

    def next_request_id(self):
        with self._id_lock:             # not self.lock: an exchange may hold that for long
            self._counter += 1
            return '%s-%d' % (self._prefix, self._counter)

    def build(self, name, body=None, request_id=None):
        """Request with the oneof field `name` set to `body` (an empty message if None)."""
        pb = pb2()
        req = pb.Request(request_id=request_id or self.next_request_id())
        field = getattr(req, name)
        if body is None:
            field.SetInParent()
        else:
            field.CopyFrom(body)
        return req

    def exchange(self, req, timeout=None):
        """Sends `req`, returns its Reply, or None if none came within `timeout` seconds.
        Every request gets exactly one reply (replay included: it is paged by new requests,
        see xttrader._Dispatcher._replay)."""
        pb = pb2()
        data = req.SerializeToString()
        rid = req.request_id
        timeout = self.timeout if timeout is None else float(timeout)
        # The timeout includes waiting for the channel: another thread's exchange (e.g. a
        # replay on the callback thread against a bridge that just died) cannot make this
        # call take longer than its own timeout.
        deadline = time.monotonic() + timeout
        if not self.lock.acquire(timeout=max(0.001, timeout)):
            log.warning('xtbridge: %s (request_id %s) not sent: channel busy for %.1fs',
                        req.WhichOneof('body'), rid, timeout)
            return None
        with _Release(self.lock):
            if self.closed:
                return None
            if self._sock is None:
                self._open()
            sock = self._sock
            next_send = time.monotonic()
            while True:
                now = time.monotonic()
                if now >= deadline:
                    log.warning('xtbridge: no reply to %s (request_id %s) within %.1fs',
                                req.WhichOneof('body'), rid, timeout)
                    self._reset()
                    return None
                if now >= next_send:
                    try:
                        sock.send(data, zmq.NOBLOCK)
                        self.sends += 1
                    except zmq.Again:
                        pass            # no connection yet (ZMQ_IMMEDIATE): try again later
                    next_send = now + self.retry_interval
                until = min(deadline, next_send)
                wait_ms = max(1, int((until - time.monotonic()) * 1000))
                if not sock.poll(wait_ms, zmq.POLLIN):
                    continue
                frames = sock.recv_multipart()
                reply = pb.Reply()
                try:
                    reply.ParseFromString(frames[-1])
                except Exception:
                    log.warning('xtbridge: undecodable reply dropped')
                    continue
                if reply.request_id != rid:
                    continue            # a late answer to an earlier, abandoned request
                if reply.error.code == pb.DUPLICATE_IN_FLIGHT:
                    continue            # our retry overtook the original: keep waiting for it
                return reply
