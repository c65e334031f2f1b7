"""pytest fixtures for the Python client: the real bridge binary, a fake bridge, traders.

Environment:
- XTB_BRIDGE_BIN: the xtbridge binary (default <repo>/build/bin/xtbridge); tests needing it
  fail when it does not exist (build first: a test that cannot run is a failure).
- XTBRIDGE_PB2_DIR: directory holding the generated xtbridge_pb2.py (default
  <repo>/build/python when it exists; otherwise the package generates it with protoc).
- XTB_BRIDGE_CMD: run the bridge through a launcher instead, split like a shell would
  (e.g. "wine build-win/project/bin/xtbridge.exe": the Windows build under Wine).
- XTB_TRANSPORT=tcp: loopback tcp:// endpoints on free ports instead of ipc:// (Windows has
  no ipc://).
- XTB_BRIDGE_STOP_SIGNAL=INT: stop the bridge with SIGINT, not SIGTERM (Wine delivers SIGINT
  as the console's Ctrl-C, the Windows stop request, and ends the process on SIGTERM).
Every test gets its own endpoints and, for the real bridge, its own --data dir.
"""

import itertools
import os
import random
import shlex
import socket
import tempfile
import signal
import subprocess
import sys
import threading
import time

import pytest
import zmq

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'clients', 'python'))
sys.path.insert(0, os.path.dirname(__file__))
if 'XTBRIDGE_PB2_DIR' not in os.environ and os.path.exists(
        os.path.join(REPO, 'build', 'python', 'xtbridge_pb2.py')):
    os.environ['XTBRIDGE_PB2_DIR'] = os.path.join(REPO, 'build', 'python')

from xtbridge._pb import pb2  # noqa: E402
from xtquant.xttrader import XtQuantTrader, XtQuantTraderCallback  # noqa: E402

from fakebridge import FakeBridge  # noqa: E402

BRIDGE_BIN = os.environ.get('XTB_BRIDGE_BIN', os.path.join(REPO, 'build', 'bin', 'xtbridge'))
BRIDGE_CMD = shlex.split(os.environ.get('XTB_BRIDGE_CMD', '')) or [BRIDGE_BIN]
TCP = os.environ.get('XTB_TRANSPORT') == 'tcp'
STOP_SIGNAL = signal.SIGINT if os.environ.get('XTB_BRIDGE_STOP_SIGNAL') == 'INT' else signal.SIGTERM
_counter = itertools.count(1)


def free_tcp_port():
    """A loopback port nothing listens on now, below Linux's ephemeral range (so outgoing
    connections do not take it before the bridge binds it)."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    pytest.fail('no free loopback tcp port')


@pytest.fixture
def pb():
    return pb2()


@pytest.fixture
def endpoints():
    n = next(_counter)
    if TCP:
        yield ('tcp://127.0.0.1:%d' % free_tcp_port(), 'tcp://127.0.0.1:%d' % free_tcp_port())
        return
    # $XTB_TMPDIR (scripts/test.sh: build-test/tmp, relative to the repository) or the
    # system's temporary directory
    tmp = os.environ.get('XTB_TMPDIR') or tempfile.gettempdir()
    os.makedirs(tmp, exist_ok=True)
    base = os.path.join(tmp, 'xtbt-py-%d-%d' % (os.getpid(), n))
    yield 'ipc://%s-router' % base, 'ipc://%s-pub' % base
    for suffix in ('-router', '-pub'):
        try:
            os.unlink(base + suffix)
        except OSError:
            pass


@pytest.fixture
def fake(endpoints, pb):
    f = FakeBridge(pb, endpoints[0], endpoints[1], heartbeat_ms=100)
    yield f
    f.close()


class Recorder(XtQuantTraderCallback):
    """Records every callback as (name, argument) and lets tests wait for them."""

    def __init__(self):
        self.events = []
        self.threads = set()
        self.cond = threading.Condition()

    def _add(self, name, obj=None):
        with self.cond:
            self.events.append((name, obj))
            self.threads.add(threading.get_ident())
            self.cond.notify_all()

    def wait_for(self, pred, timeout=5.0):
        """Waits until pred(events) is true; returns it (falsy on timeout)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                result = pred(self.events)
                if result or time.monotonic() >= deadline:
                    return result
                self.cond.wait(max(0.0, deadline - time.monotonic()))

    def of(self, name):
        with self.cond:
            return [o for n, o in self.events if n == name]

    def on_connected(self):
        self._add('on_connected')

    def on_disconnected(self):
        self._add('on_disconnected')

    def on_account_status(self, status):
        self._add('on_account_status', status)

    def on_stock_asset(self, asset):
        self._add('on_stock_asset', asset)

    def on_stock_order(self, order):
        self._add('on_stock_order', order)

    def on_stock_trade(self, trade):
        self._add('on_stock_trade', trade)

    def on_stock_position(self, position):
        self._add('on_stock_position', position)

    def on_order_error(self, order_error):
        self._add('on_order_error', order_error)

    def on_cancel_error(self, cancel_error):
        self._add('on_cancel_error', cancel_error)

    def on_order_stock_async_response(self, response):
        self._add('on_order_stock_async_response', response)

    def on_cancel_order_stock_async_response(self, response):
        self._add('on_cancel_order_stock_async_response', response)

    def on_smt_appointment_async_response(self, response):
        self._add('on_smt_appointment_async_response', response)


@pytest.fixture
def make_trader():
    """make_trader(endpoint, **kw) -> (trader, recorder), started and connected (connect
    result in trader.connect_result); all stopped at teardown."""
    made = []

    def make(endpoint, connect=True, **kw):
        trader = XtQuantTrader(endpoint, 123456, **kw)
        rec = Recorder()
        trader.register_callback(rec)
        trader.start()
        made.append(trader)
        trader.connect_result = trader.connect() if connect else None
        return trader, rec

    yield make
    for t in made:
        t.stop()


def wait_post_subscribe_replays(trader, count=1, timeout=5.0):
    """Waits until the trader's callback thread finished `count` post-subscribe replays
    (each subscribe() schedules one; see xttrader's module doc). True when done."""
    d = trader._dispatcher
    deadline = time.monotonic() + timeout
    while d.post_subscribe_replays < count:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def raw_call(endpoint, pb, name, body=None, timeout=5.0, curve=None):
    """One request on a fresh DEALER, outside any trader; returns the Reply or None.
    curve: {'server_public_key', 'public_key', 'secret_key'} for a CURVE bridge."""
    from xtbridge._channel import apply_curve
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    apply_curve(s, curve)
    s.connect(endpoint)
    try:
        req = pb.Request(request_id='raw-%d' % next(_counter))
        field = getattr(req, name)
        field.CopyFrom(body) if body is not None else field.SetInParent()
        s.send(req.SerializeToString())
        if not s.poll(int(timeout * 1000), zmq.POLLIN):
            return None
        rep = pb.Reply()
        rep.ParseFromString(s.recv_multipart()[-1])
        return rep
    finally:
        s.close(0)


class Bridge(object):
    """A running xtbridge process on this test's endpoints."""

    def __init__(self, router, pub, data_dir, proc, log_path):
        self.router, self.pub, self.data_dir, self.proc, self.log_path = (
            router, pub, data_dir, proc, log_path)

    def log(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()[-4000:]
        except OSError:
            return ''

    def terminate(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(STOP_SIGNAL)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_bridge(router, pub, data_dir, pb, config=None, heartbeat_ms=200, extra_args=(),
                 curve=None):
    binary = BRIDGE_CMD[-1]
    if not (os.access(binary, os.X_OK) or (len(BRIDGE_CMD) > 1 and os.path.isfile(binary))):
        pytest.fail('bridge binary %s not built (run scripts/bootstrap.sh or set '
                    'XTB_BRIDGE_BIN / XTB_BRIDGE_CMD)' % binary)
    log_path = os.path.join(str(data_dir), 'bridge.log')
    args = BRIDGE_CMD + ['--backend', 'sim', '--router', router, '--pub', pub,
            '--data', os.path.join(str(data_dir), 'data'), '--heartbeat-ms', str(heartbeat_ms)]
    if config:
        args += ['--config', config]
    args += list(extra_args)
    logf = open(log_path, 'w')
    proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    b = Bridge(router, pub, data_dir, proc, log_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail('bridge exited with %s at start:\n%s' % (proc.returncode, b.log()))
        rep = raw_call(router, pb, 'hello', pb.HelloRequest(client_name='conftest'), timeout=0.5,
                       curve=curve)
        if rep is not None:
            return b
    b.terminate()
    pytest.fail('bridge did not answer hello within 10 s:\n' + b.log())


@pytest.fixture
def bridge(endpoints, tmp_path, pb):
    b = start_bridge(endpoints[0], endpoints[1], tmp_path, pb)
    yield b
    rc = b.terminate()
    assert rc == 0, 'bridge exit code %s after SIGTERM:\n%s' % (rc, b.log())
