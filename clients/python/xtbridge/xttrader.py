#coding=utf-8
"""xtquant.xttrader over the xtbridge bus: XtQuantTrader and XtQuantTraderCallback.

A drop-in for the vendor module: same class names, method names, argument order,
defaults and return values (order id or -1, seq, XtAsset or None, lists, dicts,
(success, msg)). Instead of talking to a local MiniQMT, every call becomes one protobuf
Request on the bridge's ROUTER socket, and pushes arrive on its PUB socket.

Threads and sockets (zmq sockets are not thread-safe, so each has one owner):
- the request DEALER lives in _channel.Channel behind a lock; any thread may call;
- the SUB socket belongs to the callback thread, which also runs every callback, one at a
  time, in push order; other threads ask it to change subscriptions through a command
  queue plus an inproc wake-up socket;
- a worker thread runs the *_async queries and hands their results to the callback thread.
Because requests never wait for the callback thread, a callback may call synchronous
queries (never blocked; the bridge's response order is set_relaxed_response_order_enabled's).

The callback thread also hides the bus: it tracks the last seq per topic, drops
duplicates, asks the bridge to `replay` a topic when its seq jumps (page by page: one
request per page until the bridge has no more, see _Dispatcher._replay), watches the
heartbeat. topic (no heartbeat for 3 intervals = bridge gone -> on_disconnected; when
heartbeats come back it replays what was missed and calls on_connected again), and
maps the bridge's connected./disconnected. events to on_connected/on_disconnected. Both
callbacks fire on a change only (_Dispatcher._report): like a terminal, one
on_disconnected per loss, however many signs of it arrive.

subscribe(account) and the SUB filter race: a ZeroMQ subscription reaches the PUB some
time after setsockopt, so a push published just after the bridge answered `subscribe`
can be dropped by the PUB, and as the topic's first push it would leave no gap to see.
So: while `subscribe` is in flight, live pushes of the account's topics are held back;
the reply carries the last seq the bridge published on each of them (the baseline), which
becomes the topic's last seq unless a higher one was already seen; then the held pushes go
through the usual dedupe/gap path. POST_SUBSCRIBE_REPLAY_DELAY seconds later, once the
filter is surely in place, each topic is replayed once from its baseline through that same
path, which fetches a push lost in that window and drops whatever already came live.
"""

import collections
import heapq
import itertools
import json
import logging
import os
import queue
import threading
import time
import uuid

import zmq

from . import xttype
from ._channel import Channel, apply_curve
from ._pb import pb2

log = logging.getLogger('xtbridge')

DEFAULT_ENDPOINT = 'tcp://127.0.0.1:58610'

# Topic kinds pushed per account; subscribe(account) listens to all of them.
ACCOUNT_KINDS = ('order', 'trade', 'order_error', 'cancel_error', 'order_async',
                 'cancel_async', 'asset', 'position', 'account_status', 'smt_appointment')

# Event body -> (callback name, xttype class or None for no argument).
_PUSHES = {
    'order': ('on_stock_order', xttype.XtOrder),
    'trade': ('on_stock_trade', xttype.XtTrade),
    'order_error': ('on_order_error', xttype.XtOrderError),
    'cancel_error': ('on_cancel_error', xttype.XtCancelError),
    'order_async': ('on_order_stock_async_response', xttype.XtOrderResponse),
    'cancel_async': ('on_cancel_order_stock_async_response', xttype.XtCancelOrderResponse),
    'asset': ('on_stock_asset', xttype.XtAsset),
    'position': ('on_stock_position', xttype.XtPosition),
    'account_status': ('on_account_status', xttype.XtAccountStatus),
    'smt_appointment': ('on_smt_appointment_async_response', xttype.XtSmtAppointmentResponse),
    'connected': ('on_connected', None),
    'disconnected': ('on_disconnected', None),
}

# Topics whose gaps are not worth a replay (liveness signals, not state).
_NO_REPLAY = ('heartbeat.', 'connected.', 'disconnected.')

# Events per replay request (page); 0 = the bridge's default (500; it caps at 1000).
REPLAY_MAX_EVENTS = 0

# Seconds after a successful subscribe() before the account's topics are replayed from the
# bridge's baseline (long enough for the SUB filter to have reached the PUB).
POST_SUBSCRIBE_REPLAY_DELAY = 0.15


class XtQuantTraderCallback(object):
    """Override the pushes you need; every method here does nothing."""

    def on_connected(self):
        pass

    def on_disconnected(self):
        pass

    def on_account_status(self, status):
        pass

    def on_stock_asset(self, asset):
        pass

    def on_stock_order(self, order):
        pass

    def on_stock_trade(self, trade):
        pass

    def on_stock_position(self, position):
        pass

    def on_order_error(self, order_error):
        pass

    def on_cancel_error(self, cancel_error):
        pass

    def on_order_stock_async_response(self, response):
        pass

    def on_cancel_order_stock_async_response(self, response):
        pass

    def on_smt_appointment_async_response(self, response):
        pass


_WILDCARD_HOSTS = ('*', '0.0.0.0', '[::]', '[*]')


def _router_host(router_endpoint):
    """Host of the first tcp:// endpoint of a (czmq, comma list) router endpoint, or None:
    'tcp://10.0.0.5:58610' -> '10.0.0.5', 'tcp://[::1]:1' -> '[::1]', 'tcp://src;h:1' -> 'h'."""
    for ep in (router_endpoint or '').split(','):
        ep = ep.strip().lstrip('@>')
        if ep.startswith('tcp://'):
            hostport = ep[len('tcp://'):].rpartition(';')[2]
            host = hostport.rpartition(':')[0]
            if host:
                return host
    return None


def pub_endpoint_for(announced, router_endpoint):
    """The endpoint to connect to for one endpoint announced in hello.

    The bridge announces a wildcard bind as 'tcp://*:58611' (docs/protocol.md section 2): the
    host (*, 0.0.0.0, [::]) is replaced by the host this client reached the ROUTER at, the
    one address known to lead to the bridge; 127.0.0.1 when the ROUTER is not reached over
    tcp (ipc://: same machine). Anything else is returned unchanged."""
    if not announced.startswith('tcp://'):
        return announced
    host, sep, port = announced[len('tcp://'):].rpartition(':')
    if not sep or host not in _WILDCARD_HOSTS:
        return announced
    return 'tcp://%s:%s' % (_router_host(router_endpoint) or '127.0.0.1', port)


def _is_zmq_endpoint(path):
    return isinstance(path, str) and path.split('://', 1)[0] in ('tcp', 'ipc', 'inproc', 'pgm',
                                                                 'epgm', 'ws', 'wss')


def _pb_dict(msg):
    """Every field of a flat protobuf message as a dict (defaults included, ints stay ints)."""
    return {f.name: getattr(msg, f.name) for f in msg.DESCRIPTOR.fields}


class _Dispatcher(threading.Thread):
    """The callback thread: owns the SUB socket, orders/dedups pushes, runs callbacks."""

    def __init__(self, trader, ctx, pub_endpoints, heartbeat_ms, epoch, curve):
        threading.Thread.__init__(self, name='xtbridge-callbacks', daemon=True)
        self.trader = trader
        self.ctx = ctx
        self.pub_endpoints = pub_endpoints
        self.heartbeat_ms = heartbeat_ms
        self.epoch = epoch
        self.curve = curve
        self.commands = collections.deque()
        self.wake_addr = 'inproc://xtbridge-wake-%s' % uuid.uuid4().hex
        self.wake_lock = threading.Lock()
        self.wake_pull = ctx.socket(zmq.PULL)
        self.wake_pull.bind(self.wake_addr)
        self.wake_push = ctx.socket(zmq.PUSH)
        self.wake_push.setsockopt(zmq.LINGER, 0)
        self.wake_push.connect(self.wake_addr)
        self.last_seq = {}              # topic -> last seq delivered (or subscribe baseline)
        self.pending = {}               # topic -> subscribe() calls awaiting their reply
        self.held = []                  # live pushes of pending topics, in arrival order
        self.timers = []                # heap of (monotonic due time, n, fn)
        self._timer_n = itertools.count()
        self.post_subscribe_replays = 0  # post-subscribe replays finished (tests wait on it)
        self.instance_id = None
        self.last_heartbeat = None      # monotonic time of the last heartbeat, None = none yet
        self.first_heartbeat = threading.Event()
        self.alive = True               # False once declared gone (no heartbeats)
        self.backend_down = False       # a `disconnected.` push not yet followed by connected.
        self.reported_down = False      # on_disconnected called, on_connected not yet
        self.stopping = False

    # -- called from other threads ---------------------------------------------------
    def post(self, fn, wait=False):
        """Runs fn() on this thread; with wait, blocks until it ran (at most 5 s)."""
        if threading.current_thread() is self:
            fn()                        # already on the callback thread (called from a callback)
            return
        done = threading.Event()

        def job():
            try:
                fn()
            finally:
                done.set()
        self.commands.append(job)
        with self.wake_lock:
            try:
                self.wake_push.send(b'', zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
        if wait:
            done.wait(5.0)

    def stop(self):
        self.stopping = True
        self.post(lambda: None)

    # -- the thread --------------------------------------------------------------------
    def run(self):
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 100000)
        apply_curve(sub, self.curve)
        for topic in ('heartbeat.', 'connected.', 'disconnected.'):
            sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
        for ep in self.pub_endpoints:
            sub.connect(ep)
        self.sub = sub
        poller = zmq.Poller()
        poller.register(sub, zmq.POLLIN)
        poller.register(self.wake_pull, zmq.POLLIN)
        try:
            while not self.stopping:
                events = dict(poller.poll(self._poll_ms()))
                if self.wake_pull in events:
                    while True:
                        try:
                            self.wake_pull.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                while self.commands:
                    self.commands.popleft()()
                self._run_timers()
                # Read even when the poll did not report the SUB: a command or timer (a
                # replay) may have blocked, and the watchdog must see the heartbeats that
                # arrived meanwhile before judging the bridge gone.
                for _ in range(1000):       # bounded, so commands and the watchdog get turns
                    try:
                        frames = sub.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    self._on_frames(frames)
                self._watch_heartbeat()
        except Exception:
            log.exception('xtbridge: callback thread failed')
        finally:
            sub.close(0)
            self.wake_pull.close(0)
            with self.wake_lock:
                self.wake_push.close(0)

    def _poll_ms(self):
        ms = 100 if self.heartbeat_ms else 1000
        if self.timers:
            ms = min(ms, max(0, int((self.timers[0][0] - time.monotonic()) * 1000) + 1))
        return ms

    def at(self, delay, fn):
        """Runs fn() on this thread `delay` seconds from now (call on this thread)."""
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self._timer_n), fn))

    def _run_timers(self):
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now and not self.stopping:
            heapq.heappop(self.timers)[2]()

    # -- subscribe(): see the module doc. All of these run on this thread. ---------------
    def begin_subscribe(self, topics):
        """`subscribe` is about to be sent: hold live pushes of `topics` until its reply."""
        for t in topics:
            self.pending[t] = self.pending.get(t, 0) + 1

    def end_subscribe(self, topics, baseline, key, delay):
        """The reply came: baseline = {topic: last seq published} (None = subscribe failed).
        Applies the baseline, releases held pushes, schedules the post-subscribe replay."""
        for t in topics:
            n = self.pending.get(t, 0) - 1
            if n > 0:
                self.pending[t] = n
            else:
                self.pending.pop(t, None)
        if baseline is not None:
            for t in topics:
                if self.last_seq.get(t, -1) < baseline[t]:
                    self.last_seq[t] = baseline[t]
            self.at(delay, lambda: self._replay_after_subscribe(topics, baseline, key))
        held = [ev for ev in self.held if ev.topic not in self.pending]
        if held:
            self.held = [ev for ev in self.held if ev.topic in self.pending]
            for ev in held:
                self._handle(ev, from_replay=False)

    def _replay_after_subscribe(self, topics, baseline, key):
        try:
            if key not in self.trader._subscribed:
                return                  # unsubscribed meanwhile
            for t in topics:
                if not self.alive:
                    break               # bridge gone: _catch_up replays these topics later
                if not self._replay({t: baseline[t]}, t):
                    break               # logged; the next push of a topic still shows a gap
        finally:
            self.post_subscribe_replays += 1

    def forget(self, topics):
        """After unsubscribe: no seq tracking (nor catch-up replays) for these topics."""
        for t in topics:
            self.last_seq.pop(t, None)

    def _watch_heartbeat(self):
        if not self.heartbeat_ms or self.last_heartbeat is None or not self.alive:
            return
        if time.monotonic() - self.last_heartbeat > 3 * self.heartbeat_ms / 1000.0:
            self.alive = False
            log.warning('xtbridge: no heartbeat for %d ms: bridge considered gone',
                        3 * self.heartbeat_ms)
            self.trader._bridge_gone = True
            self._report(down=True)

    def _on_frames(self, frames):
        if len(frames) != 2:
            return
        pb = pb2()
        ev = pb.Event()
        try:
            ev.ParseFromString(frames[1])
        except Exception:
            log.warning('xtbridge: undecodable push dropped')
            return
        if ev.topic in self.pending:
            self.held.append(ev)        # subscribe() in flight: wait for its baseline
            return
        self._handle(ev, from_replay=False)

    def _handle(self, ev, from_replay):
        topic = ev.topic
        if ev.bridge_epoch and self.epoch and ev.bridge_epoch != self.epoch:
            log.warning('xtbridge: bridge journal epoch changed (%d -> %d): seq tracking reset',
                        self.epoch, ev.bridge_epoch)
            self.last_seq.clear()
        if ev.bridge_epoch:
            self.epoch = ev.bridge_epoch
        last = self.last_seq.get(topic)
        if last is not None and ev.seq <= last:
            return                      # already delivered (duplicate or replayed twice)
        if (last is not None and ev.seq > last + 1 and not from_replay
                and not topic.startswith(_NO_REPLAY)):
            self._replay({topic: last}, topic)
            if self.last_seq.get(topic, 0) >= ev.seq:
                return
        self.last_seq[topic] = ev.seq
        self._deliver(ev)

    def _replay(self, after, prefix):
        """Fetches and delivers missed events for `prefix` (one topic or a common prefix)
        after the seqs in `after` ({topic: last seq}); False if the replay failed.

        Pull-based: each request gets one page of at most max_events events; while the
        page says `more`, the next request (a new request_id) carries `after` advanced to
        the last seq received per topic. Each page is handed to _handle before the next is
        asked for, so memory stays one page whatever the backlog, and other threads' calls
        get the channel between pages."""
        pb = pb2()
        after = dict(after)
        max_events = int(self.trader._replay_max_events or 0)
        epoch = None
        while True:
            body = pb.ReplayRequest(topic_prefix=prefix, max_events=max_events)
            for t, s in after.items():
                body.after[t] = s
            reply = self.trader._exchange('replay', body)
            if (reply is None or reply.error.code != pb.OK
                    or reply.WhichOneof('result') != 'replay'):
                log.warning('xtbridge: replay of %s failed; events may be missing', prefix)
                return False
            page = reply.replay
            if epoch and page.bridge_epoch and page.bridge_epoch != epoch:
                # The journal was reset between pages: `after` means nothing there any
                # more. _handle saw the new epoch and reset seq tracking; stop here.
                log.warning('xtbridge: journal reset during the replay of %s', prefix)
                return False
            epoch = page.bridge_epoch or epoch
            progressed = False
            for ev in page.events:
                if ev.seq > after.get(ev.topic, 0):
                    after[ev.topic] = ev.seq
                    progressed = True
                self._handle(ev, from_replay=True)
            if not page.more:
                return True
            if not progressed:
                log.warning('xtbridge: replay of %s: the bridge said more but sent no new '
                            'event; stopping', prefix)
                return False
            if self.stopping:
                return False

    def _catch_up(self):
        """After an outage or a bridge restart: replay every topic we had seen."""
        for topic, seq in sorted(self.last_seq.items()):
            if not topic.startswith(_NO_REPLAY):
                self._replay({topic: seq}, topic)

    def _deliver(self, ev):
        kind = ev.WhichOneof('body')
        if kind == 'heartbeat':
            hb = ev.heartbeat
            self.last_heartbeat = time.monotonic()
            if hb.interval_ms:
                self.heartbeat_ms = hb.interval_ms
            restarted = self.instance_id is not None and hb.instance_id != self.instance_id
            self.instance_id = hb.instance_id
            self.first_heartbeat.set()
            if not self.alive or restarted:
                if restarted:
                    # A new bridge process: its start-up connected./disconnected. went out
                    # before this SUB was back, so ask it whether its backend is up.
                    self._check_backend()
                self.alive = True
                self.trader._bridge_gone = False
                log.warning('xtbridge: %s; replaying missed pushes',
                            'bridge restarted (new instance id)' if restarted
                            else 'heartbeats are back')
                self._catch_up()
                self._report(down=self.backend_down)
            return
        if kind in ('connected', 'disconnected'):
            self.backend_down = kind == 'disconnected'
            if self.alive:              # else the returning heartbeats replay, then report
                self._report(down=self.backend_down)
            return
        entry = _PUSHES.get(kind)
        if entry is None:
            return
        name, cls = entry
        if cls is None:
            self._callback(name)
        else:
            self._callback(name, cls._from_pb(getattr(ev, kind)))

    def _check_backend(self):
        pb = pb2()
        reply = self.trader._exchange('hello', pb.HelloRequest(
            client_name=self.trader.client_name, client_version='0.1.0', protocol_version=2))
        if reply is not None and reply.error.code == pb.OK and reply.WhichOneof('result') == 'hello':
            self.backend_down = not reply.hello.backend_connected

    def _report(self, down):
        """on_disconnected / on_connected on a change only, as a terminal calls them once
        per session loss: the bridge's `disconnected.` push (shutdown, or the terminal
        session lost) and the silence of its heartbeats that follows are one loss."""
        if down != self.reported_down:
            self.reported_down = down
            self._callback('on_disconnected' if down else 'on_connected')

    def _callback(self, name, *args):
        cb = self.trader._callback
        fn = getattr(cb, name, None) if cb is not None else None
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            log.exception('xtbridge: exception in %s', name)


def load_curve_files(cert, server):
    """(server_public_key, public_key, secret_key) from czmq cert files: `cert` is the
    client's secret cert (NAME_secret, or NAME with NAME_secret beside it, as czmq's
    zcert_load reads it), `server` the bridge's public cert file or its 40-character z85
    key. Raises ValueError naming what is missing."""
    import zmq.auth
    if not cert or not server:
        raise ValueError('CURVE needs both curve_cert (this client\'s secret cert) and '
                         'curve_server (the bridge\'s public cert or key)')
    path = cert + '_secret' if os.path.exists(cert + '_secret') else cert
    public, secret = zmq.auth.load_certificate(path)
    if not secret:
        raise ValueError('curve_cert %s has no secret key (give NAME_secret)' % cert)
    if len(server) == 40 and not os.path.exists(server):
        server_key = server.encode()
    else:
        server_key = zmq.auth.load_certificate(server)[0]
    return server_key, public, secret


class XtQuantTrader(object):
    """The trading API object (see the vendor doc); `path` picks the bridge.

    path: a ZeroMQ endpoint ('tcp://host:58610', 'ipc:///run/xtbridge.sock') is the
    bridge's ROUTER endpoint; anything else (a MiniQMT userdata_mini path) means "the
    bridge in $XTBRIDGE_ENDPOINT", default tcp://127.0.0.1:58610.
    session_id: kept for compatibility and sent in hello as part of the client name.
    Keyword extensions: callback (like xtquant's third argument), timeout (seconds a call
    may take, retries included; default 10), retry_interval (default min(1, timeout/4)),
    server_public_key / public_key / secret_key (CURVE, z85), client_name, pub_endpoint
    (the PUB endpoint(s) to subscribe at instead of what hello announces, e.g. a proxy's
    XPUB side; default $XTBRIDGE_PUB_ENDPOINT, a comma list).
    CURVE from czmq cert files instead (as `xtbctl keygen` writes them): curve_cert (this
    client's secret cert, NAME_secret) and curve_server (the bridge's public cert file, or
    its z85 key); default $XTBRIDGE_CURVE_CERT / $XTBRIDGE_CURVE_SERVER, so an unchanged
    xtquant strategy can use a CURVE bridge.
    """

    def __init__(self, path, session_id, callback=None, timeout=10.0, retry_interval=None,
                 server_public_key=None, public_key=None, secret_key=None, client_name=None,
                 pub_endpoint=None, curve_cert=None, curve_server=None, **kwargs):
        if kwargs:
            log.warning('xtbridge: ignoring unknown XtQuantTrader options %s', sorted(kwargs))
        self.path = path
        self.session_id = session_id
        if _is_zmq_endpoint(path):
            self.endpoint = path
        else:
            self.endpoint = os.environ.get('XTBRIDGE_ENDPOINT') or DEFAULT_ENDPOINT
        self.pub_endpoint = pub_endpoint or os.environ.get('XTBRIDGE_PUB_ENDPOINT') or None
        self.timeout = float(timeout)
        self.retry_interval = retry_interval
        self.curve = None
        curve_cert = curve_cert or os.environ.get('XTBRIDGE_CURVE_CERT') or None
        curve_server = curve_server or os.environ.get('XTBRIDGE_CURVE_SERVER') or None
        if not server_public_key and (curve_cert or curve_server):
            server_public_key, public_key, secret_key = load_curve_files(curve_cert,
                                                                         curve_server)
        if server_public_key:
            self.curve = {'server_public_key': server_public_key, 'public_key': public_key,
                          'secret_key': secret_key}
        self.client_name = client_name or ('xtbridge-python session %s' % (session_id,))
        self._callback = callback
        self._ctx = None
        self._channel = None
        self._dispatcher = None
        self._worker = None
        self._jobs = None
        self._async_seq = 0
        self._async_lock = threading.Lock()
        self._started = False
        self._connected = False
        self._bridge_gone = False
        self._stopped = threading.Event()
        self._subscribed = set()
        self._post_subscribe_replay_delay = POST_SUBSCRIBE_REPLAY_DELAY
        self._replay_max_events = REPLAY_MAX_EVENTS
        self.hello = None               # the bridge's HelloReply after connect()

    # ================================================================ system calls
    def register_callback(self, callback):
        self._callback = callback

    def start(self):
        if self._started:
            return
        self._started = True
        self._stopped.clear()
        self._ctx = zmq.Context()
        self._channel = Channel(self._ctx, self.endpoint, timeout=self.timeout,
                                retry_interval=self.retry_interval, curve=self.curve)
        self._jobs = queue.Queue()
        self._worker = threading.Thread(target=self._work, name='xtbridge-async', daemon=True)
        self._worker.start()

    def connect(self):
        """0 when the bridge answered hello and its PUB socket delivers heartbeats, else -1."""
        if not self._started:
            self.start()
        if self._connected:
            return 0
        pb = pb2()
        reply = self._exchange('hello', pb.HelloRequest(
            client_name=self.client_name, client_version='0.1.0', protocol_version=2))
        if reply is None or reply.error.code != pb.OK or reply.WhichOneof('result') != 'hello':
            log.warning('xtbridge: connect to %s failed: %s', self.endpoint,
                        'no reply' if reply is None else reply.error.message)
            return -1
        hello = reply.hello
        self.hello = hello
        if hello.protocol_version != 2:
            log.warning('xtbridge: bridge speaks protocol %d, this client 2', hello.protocol_version)
        if self.pub_endpoint:
            endpoints = [e.strip() for e in self.pub_endpoint.split(',') if e.strip()]
        else:
            endpoints = self._pick_pub_endpoints(list(hello.pub_endpoints))
        if not endpoints:
            log.warning('xtbridge: the bridge announced no PUB endpoint (its PUB connects out '
                        'to a proxy and no --pub-advertise is set): pass pub_endpoint= or set '
                        'XTBRIDGE_PUB_ENDPOINT')
            return -1
        self._dispatcher = _Dispatcher(self, self._ctx, endpoints, hello.heartbeat_ms,
                                       hello.bridge_epoch, self.curve)
        self._dispatcher.start()
        if hello.heartbeat_ms:
            # Wait for the first heartbeat: proves the SUB path works and that our
            # subscriptions are in place before the strategy starts trading.
            wait = min(self.timeout, 3 * hello.heartbeat_ms / 1000.0 + 0.5)
            if not self._dispatcher.first_heartbeat.wait(wait):
                log.warning('xtbridge: no heartbeat on %s within %.1fs', endpoints, wait)
                self._dispatcher.stop()
                self._dispatcher = None
                return -1
        self._connected = True
        return 0

    def _pick_pub_endpoints(self, announced):
        """Prefers the announced endpoint with the same transport as the router endpoint;
        a wildcard host (see pub_endpoint_for) becomes the router endpoint's host."""
        if not announced:
            return []
        scheme = self.endpoint.partition('://')[0]
        same = [e for e in announced if e.startswith(scheme + '://')]
        return [pub_endpoint_for((same or announced)[0].lstrip('@>'), self.endpoint)]

    def stop(self):
        if not self._started:
            self._stopped.set()
            return
        self._started = False
        self._connected = False
        dispatcher, worker, ctx = self._dispatcher, self._worker, self._ctx
        self._dispatcher = None
        self._ctx = None
        if dispatcher is not None:
            dispatcher.stop()
        if self._jobs is not None:
            self._jobs.put(None)
        if self._channel is not None:
            self._channel.close()
        me = threading.current_thread()

        def finish():
            # ctx.term() waits for every socket to close, including the callback thread's
            # SUB: join the threads first (from a helper thread if stop() was called
            # from a callback or an async-query callback, which cannot join itself).
            for t in (dispatcher, worker):
                if t is not None and t is not threading.current_thread():
                    t.join(5.0)
            if ctx is not None:
                ctx.term()
            self._stopped.set()
        if me is dispatcher or me is worker:
            threading.Thread(target=finish, name='xtbridge-stop', daemon=True).start()
        else:
            finish()

    def run_forever(self):
        """Blocks until stop() is called (Ctrl+C also returns)."""
        try:
            while not self._stopped.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass

    def sleep(self, time_sec):
        time.sleep(time_sec)

    def set_relaxed_response_order_enabled(self, enabled):
        """Forwarded to the bridge. Client-side, responses never queue behind callbacks."""
        pb = pb2()
        self._call('set_relaxed_response_order_enabled',
                   pb.SetRelaxedResponseOrderEnabledRequest(enabled=bool(enabled)))
        return None

    # ================================================================ plumbing
    def _exchange(self, name, body=None, timeout=None, request_id=None):
        """Raw request/reply (no error handling): the Reply, or None."""
        if self._channel is None:
            return None
        req = self._channel.build(name, body, request_id)
        return self._channel.exchange(req, timeout=timeout)

    def _bridge_call(self, name, body=None, timeout=None):
        """Any Request body by its field name (e.g. 'sim_set_price', 'stats'); returns the
        Reply (error included) or None on timeout. An xtbridge extension for tools/tests."""
        return self._exchange(name, body, timeout=timeout)

    def _call(self, name, body=None):
        """Reply's result message for a successful call; None on error/timeout (logged)."""
        if not self._connected:
            log.warning('xtbridge: %s called while not connected', name)
            return None
        pb = pb2()
        reply = self._exchange(name, body)
        if reply is None:
            return None
        if reply.error.code != pb.OK:
            code = pb.ErrorCode.Name(reply.error.code)
            log.warning('xtbridge: %s failed: %s %s', name, code, reply.error.message)
            return None
        which = reply.WhichOneof('result')
        if which is not None and which != name:
            log.warning('xtbridge: %s answered with %s', name, which)
            return None
        # OK without a result reads as the empty result (an empty list, found=False ...):
        # an encoder may legitimately omit an all-default submessage.
        return getattr(reply, name)

    @staticmethod
    def _acct(account):
        pb = pb2()
        return pb.Account(account_id=str(account.account_id),
                          account_type=int(getattr(account, 'account_type', 2) or 2))

    def _acct_req(self, account):
        return pb2().AccountRequest(account=self._acct(account))

    def _listing(self, name, account, attr, cls):
        result = self._call(name, self._acct_req(account))
        return None if result is None else [cls._from_pb(m) for m in getattr(result, attr)]

    # ================================================================ subscriptions
    def _topics(self, account):
        return ['%s.%s.' % (kind, account.account_id) for kind in ACCOUNT_KINDS]

    def _set_sub(self, topics, on, then=None):
        """On the callback thread: adds (on=True) or removes (False) the SUB filters of
        `topics`, then runs then(dispatcher); waits until done."""
        d = self._dispatcher
        if d is None:
            return

        def apply():
            if on is not None:          # None: leave the filters as they are
                opt = zmq.SUBSCRIBE if on else zmq.UNSUBSCRIBE
                for t in topics:
                    d.sub.setsockopt(opt, t.encode())
            if then is not None:
                then(d)
        d.post(apply, wait=True)

    def subscribe(self, account):
        """0 on success, -1 on failure; pushes of the account then reach the callbacks."""
        if not self._connected:
            return -1
        d = self._dispatcher
        if d is None:
            return -1
        key = (account.account_id, account.account_type)
        topics = self._topics(account)
        # Listen first, then tell the bridge; the callback thread holds this account's
        # pushes until the reply's baseline is applied (see the module doc).
        self._set_sub(topics, True if key not in self._subscribed else None,
                      then=lambda d: d.begin_subscribe(topics))
        result = self._call('subscribe', self._acct_req(account))
        ok = result is not None and result.result == 0
        baseline = None
        if ok:
            self._subscribed.add(key)
            baseline = {t: result.last_seq.get(t, 0) for t in topics}
        delay = self._post_subscribe_replay_delay
        d.post(lambda: d.end_subscribe(topics, baseline, key, delay))
        if not ok:
            if key not in self._subscribed:
                self._set_sub(topics, False)
            return -1
        return 0

    def unsubscribe(self, account):
        if not self._connected:
            return -1
        result = self._call('unsubscribe', self._acct_req(account))
        key = (account.account_id, account.account_type)
        if key in self._subscribed:
            self._subscribed.discard(key)
            topics = self._topics(account)
            self._set_sub(topics, False, then=lambda d: d.forget(topics))
        if result is None:
            return -1
        return result.result

    # ================================================================ orders
    def _order_body(self, account, stock_code, order_type, order_volume, price_type, price,
                    strategy_name, order_remark):
        return pb2().OrderStockRequest(
            account=self._acct(account), stock_code=str(stock_code), order_type=int(order_type),
            order_volume=int(order_volume), price_type=int(price_type), price=float(price),
            strategy_name=str(strategy_name or ''), order_remark=str(order_remark or ''))

    def order_stock(self, account, stock_code, order_type, order_volume, price_type, price,
                    strategy_name='', order_remark=''):
        """Order id (> 0), or -1 on failure."""
        r = self._call('order_stock', self._order_body(
            account, stock_code, order_type, order_volume, price_type, price, strategy_name,
            order_remark))
        return -1 if r is None else r.order_id

    def order_stock_async(self, account, stock_code, order_type, order_volume, price_type,
                          price, strategy_name='', order_remark=''):
        """Request seq (> 0), or -1; the order id comes in on_order_stock_async_response."""
        r = self._call('order_stock_async', self._order_body(
            account, stock_code, order_type, order_volume, price_type, price, strategy_name,
            order_remark))
        return -1 if r is None else r.seq

    def cancel_order_stock(self, account, order_id):
        """0 when the cancel was sent, -1 on failure."""
        r = self._call('cancel_order_stock', pb2().CancelOrderStockRequest(
            account=self._acct(account), order_id=int(order_id)))
        return -1 if r is None else r.result

    def cancel_order_stock_async(self, account, order_id):
        r = self._call('cancel_order_stock_async', pb2().CancelOrderStockRequest(
            account=self._acct(account), order_id=int(order_id)))
        return -1 if r is None else r.seq

    def cancel_order_stock_sysid(self, account, market, order_sysid):
        r = self._call('cancel_order_stock_sysid', pb2().CancelOrderStockSysidRequest(
            account=self._acct(account), market=int(market), order_sysid=str(order_sysid)))
        return -1 if r is None else r.result

    def cancel_order_stock_sysid_async(self, account, market, order_sysid):
        r = self._call('cancel_order_stock_sysid_async', pb2().CancelOrderStockSysidRequest(
            account=self._acct(account), market=int(market), order_sysid=str(order_sysid)))
        return -1 if r is None else r.seq

    def fund_transfer(self, account, transfer_direction, price):
        """(success, msg)."""
        r = self._call('fund_transfer', pb2().FundTransferRequest(
            account=self._acct(account), transfer_direction=int(transfer_direction),
            price=float(price)))
        if r is None:
            return (False, 'fund_transfer failed: bridge unavailable or call not served')
        return (r.success, r.msg)

    def sync_transaction_from_external(self, operation, data_type, account, deal_list):
        """dict: {'msg': ...} on success, {'error': {'msg': ...}} on failure."""
        body = pb2().SyncTransactionFromExternalRequest(
            operation=str(operation), data_type=str(data_type), account=self._acct(account))
        for deal in deal_list or []:
            body.deal_list_json.append(json.dumps(deal, ensure_ascii=False))
        return self._json_result('sync_transaction_from_external', body, 'msg')

    def _json_result(self, name, body, err_key):
        r = self._call(name, body)
        if r is None:
            return {'error': {err_key: '%s failed: bridge unavailable or call not served' % name}}
        try:
            return json.loads(r.json) if r.json else {}
        except ValueError:
            return {'error': {err_key: 'undecodable result: %r' % r.json}}

    # ================================================================ stock queries
    def query_stock_asset(self, account):
        """XtAsset, or None on failure."""
        r = self._call('query_stock_asset', self._acct_req(account))
        if r is None or not r.found:
            return None
        return xttype.XtAsset._from_pb(r.asset)

    def query_stock_order(self, account, order_id):
        """XtOrder, or None when not found / on failure."""
        r = self._call('query_stock_order', pb2().QueryStockOrderRequest(
            account=self._acct(account), order_id=int(order_id)))
        if r is None or not r.found:
            return None
        return xttype.XtOrder._from_pb(r.order)

    def query_stock_orders(self, account, cancelable_only=False):
        """list of XtOrder ([] when none), None on failure."""
        r = self._call('query_stock_orders', pb2().QueryStockOrdersRequest(
            account=self._acct(account), cancelable_only=bool(cancelable_only)))
        return None if r is None else [xttype.XtOrder._from_pb(m) for m in r.orders]

    def query_stock_trades(self, account):
        return self._listing('query_stock_trades', account, 'trades', xttype.XtTrade)

    def query_stock_position(self, account, stock_code):
        """XtPosition, or None when not held / on failure."""
        r = self._call('query_stock_position', pb2().QueryStockPositionRequest(
            account=self._acct(account), stock_code=str(stock_code)))
        if r is None or not r.found:
            return None
        return xttype.XtPosition._from_pb(r.position)

    def query_stock_positions(self, account):
        return self._listing('query_stock_positions', account, 'positions', xttype.XtPosition)

    def query_position_statistics(self, account):
        return self._listing('query_position_statistics', account, 'statistics',
                             xttype.XtPositionStatistics)

    # ================================================================ credit queries
    def query_credit_detail(self, account):
        return self._listing('query_credit_detail', account, 'details', xttype.XtCreditDetail)

    def query_stk_compacts(self, account):
        return self._listing('query_stk_compacts', account, 'compacts', xttype.StkCompacts)

    def query_credit_subjects(self, account):
        return self._listing('query_credit_subjects', account, 'subjects', xttype.CreditSubjects)

    def query_credit_slo_code(self, account):
        return self._listing('query_credit_slo_code', account, 'slo_codes', xttype.CreditSloCode)

    def query_credit_assure(self, account):
        return self._listing('query_credit_assure', account, 'assures', xttype.CreditAssure)

    # ================================================================ other queries
    def query_new_purchase_limit(self, account):
        """dict {type: number} ('KCB', 'SH', 'SZ'); None on failure."""
        r = self._call('query_new_purchase_limit', self._acct_req(account))
        return None if r is None else {l.type: l.number for l in r.limits}

    def query_ipo_data(self):
        """dict {code: {name, type, minPurchaseNum, maxPurchaseNum, purchaseDate,
        issuePrice}}; None on failure."""
        r = self._call('query_ipo_data', pb2().NoArgsRequest())
        if r is None:
            return None
        out = {}
        for ipo in r.ipos:
            info = _pb_dict(ipo)
            out[info.pop('stock_code')] = info
        return out

    def query_account_infos(self):
        """list of XtAccountInfo; None on failure."""
        r = self._call('query_account_infos', pb2().NoArgsRequest())
        return None if r is None else [xttype.XtAccountInfo._from_pb(m) for m in r.accounts]

    def query_account_status(self):
        """list of XtAccountStatus; None on failure."""
        r = self._call('query_account_status', pb2().NoArgsRequest())
        return None if r is None else [xttype.XtAccountStatus._from_pb(m) for m in r.statuses]

    def query_com_fund(self, account):
        """dict with success, erro, currentBalance, ... ({'success': False, 'erro': ...} on
        failure)."""
        r = self._call('query_com_fund', self._acct_req(account))
        if r is None:
            return {'success': False, 'erro': 'query_com_fund failed: bridge unavailable or '
                                              'call not served'}
        return _pb_dict(r.fund)

    def query_com_position(self, account):
        """list of dicts (success, error, stockAccount, ...); None on failure."""
        r = self._call('query_com_position', self._acct_req(account))
        return None if r is None else [_pb_dict(p) for p in r.positions]

    def export_data(self, account, result_path, data_type, start_time=None, end_time=None,
                    user_param={}):
        """dict: {'msg': 'export success'} or {'error': {'errorMsg': ...}}."""
        return self._json_result('export_data', self._export_body(
            account, result_path, data_type, start_time, end_time, user_param), 'errorMsg')

    def query_data(self, account, result_path, data_type, start_time=None, end_time=None,
                   user_param={}):
        """The exported rows as a list of dicts keyed by the CSV header (pandas.DataFrame(rows)
        gives xtquant's table), or {'error': {'errorMsg': ...}}."""
        return self._json_result('query_data', self._export_body(
            account, result_path, data_type, start_time, end_time, user_param), 'errorMsg')

    def _export_body(self, account, result_path, data_type, start_time, end_time, user_param):
        return pb2().ExportDataRequest(
            account=self._acct(account), result_path=str(result_path), data_type=str(data_type),
            start_time='' if start_time is None else str(start_time),
            end_time='' if end_time is None else str(end_time),
            user_param_json=json.dumps(user_param or {}, ensure_ascii=False))

    # ================================================================ securities lending (smt)
    def smt_query_quoter(self, account):
        """list of dicts; None on failure."""
        r = self._call('smt_query_quoter', self._acct_req(account))
        return None if r is None else [_pb_dict(q) for q in r.quoters]

    def smt_negotiate_order_async(self, account, src_group_id, order_code, date, amount,
                                  apply_rate, dict_param={}):
        """Request seq (> 0) or -1; answer in on_smt_appointment_async_response."""
        r = self._call('smt_negotiate_order_async', pb2().SmtNegotiateOrderAsyncRequest(
            account=self._acct(account), src_group_id=str(src_group_id),
            order_code=str(order_code), date=int(date), amount=int(amount),
            apply_rate=float(apply_rate),
            dict_param_json=json.dumps(dict_param or {}, ensure_ascii=False)))
        return -1 if r is None else r.seq

    def smt_query_compact(self, account):
        """list of dicts; None on failure."""
        r = self._call('smt_query_compact', self._acct_req(account))
        return None if r is None else [_pb_dict(c) for c in r.compacts]

    # ================================================================ *_async queries
    def _work(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, callback = job
            try:
                result = fn(*args)
            except Exception:
                log.exception('xtbridge: async query failed')
                result = None
            d = self._dispatcher
            # bind this job's callback and result now: the loop rebinds both names before
            # the callback thread runs what was posted
            run = (lambda callback=callback, result=result:
                   self._run_user_callback(callback, result))
            if d is not None and d.is_alive():
                d.post(run)
            else:
                run()

    @staticmethod
    def _run_user_callback(callback, result):
        try:
            callback(result)
        except Exception:
            log.exception('xtbridge: exception in async query callback')

    def _submit(self, fn, args, callback):
        """Queues a sync query; its result goes to callback on the callback thread.
        Returns a seq (> 0), or -1 when the trader is not started."""
        if self._jobs is None or not self._started:
            return -1
        with self._async_lock:
            self._async_seq += 1
            seq = self._async_seq
        self._jobs.put((fn, args, callback))
        return seq

    def query_stock_asset_async(self, account, callback):
        return self._submit(self.query_stock_asset, (account,), callback)

    def query_stock_order_async(self, account, order_id, callback):
        return self._submit(self.query_stock_order, (account, order_id), callback)

    def query_stock_orders_async(self, account, callback, cancelable_only=False):
        return self._submit(self.query_stock_orders, (account, cancelable_only), callback)

    def query_stock_trades_async(self, account, callback):
        return self._submit(self.query_stock_trades, (account,), callback)

    def query_stock_position_async(self, account, stock_code, callback):
        return self._submit(self.query_stock_position, (account, stock_code), callback)

    def query_stock_positions_async(self, account, callback):
        return self._submit(self.query_stock_positions, (account,), callback)

    def query_position_statistics_async(self, account, callback):
        return self._submit(self.query_position_statistics, (account,), callback)

    def query_credit_detail_async(self, account, callback):
        return self._submit(self.query_credit_detail, (account,), callback)

    def query_stk_compacts_async(self, account, callback):
        return self._submit(self.query_stk_compacts, (account,), callback)

    def query_credit_subjects_async(self, account, callback):
        return self._submit(self.query_credit_subjects, (account,), callback)

    def query_credit_slo_code_async(self, account, callback):
        return self._submit(self.query_credit_slo_code, (account,), callback)

    def query_credit_assure_async(self, account, callback):
        return self._submit(self.query_credit_assure, (account,), callback)

    def query_new_purchase_limit_async(self, account, callback):
        return self._submit(self.query_new_purchase_limit, (account,), callback)

    def query_ipo_data_async(self, callback):
        return self._submit(self.query_ipo_data, (), callback)

    def query_account_infos_async(self, callback):
        return self._submit(self.query_account_infos, (), callback)

    def query_account_status_async(self, callback):
        return self._submit(self.query_account_status, (), callback)


__all__ = ['XtQuantTrader', 'XtQuantTraderCallback']
