"""Remote endpoints that are right (issue 8 item 1) for the Python client.

The bridge announces a wildcard PUB host as 'tcp://*:PORT'; the client replaces it by the
host it reached the ROUTER at. Loopback only: the real bridge is bound to 127.0.0.2 (ROUTER
and PUB) and announces its PUB as 'tcp://*:P' (bridge.pub_advertise with a wildcard host,
treated like a wildcard bind, so no test listens on every interface), while a decoy PUB on
127.0.0.1:P - the same port - publishes fake order and trade pushes of the same account
(order_id 424242, remark 'DECOY') every 5 ms. The trader that reached the ROUTER at
127.0.0.2 must get the bridge's pushes only. Also: the pub_endpoint= / $XTBRIDGE_PUB_ENDPOINT
override, with the bridge's PUB connecting out to an XSUB/XPUB proxy (nothing announced).
"""

import os
import random
import threading
import time

import pytest
import zmq

from xtbridge.xttrader import pub_endpoint_for
from xtquant import xtconstant
from xtquant.xttype import StockAccount

from conftest import raw_call, start_bridge

ACC = StockAccount('1000000365')
DECOY_ORDER_ID = 424242


@pytest.mark.parametrize('announced,router,expect', [
    ('tcp://*:58611', 'tcp://127.0.0.2:58610', 'tcp://127.0.0.2:58611'),
    ('tcp://0.0.0.0:58611', 'tcp://10.1.2.3:58610', 'tcp://10.1.2.3:58611'),
    ('tcp://[::]:58611', 'tcp://bridge.example:58610', 'tcp://bridge.example:58611'),
    ('tcp://*:58611', '>tcp://[fd00::5]:58610', 'tcp://[fd00::5]:58611'),
    ('tcp://*:58611', 'tcp://127.0.0.9;127.0.0.2:58610', 'tcp://127.0.0.2:58611'),
    ('tcp://*:58611', 'ipc://r,tcp://127.0.0.3:58610', 'tcp://127.0.0.3:58611'),
    ('tcp://*:58611', 'ipc://xtbridge/req', 'tcp://127.0.0.1:58611'),
    ('tcp://127.0.0.5:58611', 'tcp://127.0.0.2:58610', 'tcp://127.0.0.5:58611'),
    ('ipc://xtbridge/pub', 'tcp://127.0.0.2:58610', 'ipc://xtbridge/pub'),
])
def test_pub_endpoint_for(announced, router, expect):
    assert pub_endpoint_for(announced, router) == expect


class Decoy(object):
    """A PUB on 127.0.0.1:port sending a fake order and trade of ACC and a heartbeat (the
    bridge's instance and epoch) every 5 ms once started."""

    def __init__(self, pb, port):
        self.pb = pb
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.PUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.port = port
        try:
            self.sock.bind('tcp://127.0.0.1:%d' % port)
        except zmq.ZMQError:
            self.sock.close(0)
            raise
        self.endpoint = 'tcp://127.0.0.1:%d' % self.port
        self.stop_flag = threading.Event()
        self.thread = None

    def start(self, epoch, instance_id):
        self.thread = threading.Thread(target=self._run, args=(epoch, instance_id), daemon=True)
        self.thread.start()

    def _run(self, epoch, instance_id):
        pb = self.pb
        # seqs far above the bridge's, in its epoch: a client listening here would take them
        seq = 1000000
        while not self.stop_flag.wait(0.005):
            seq += 1
            now = time.time_ns()
            order = pb.Event(topic='order.%s.' % ACC.account_id, seq=seq, bridge_epoch=epoch,
                             time_ns=now, order=pb.XtOrder(
                                 account_type=2, account_id=ACC.account_id,
                                 stock_code='600000.SH', order_id=DECOY_ORDER_ID,
                                 order_volume=100, order_status=56, order_remark='DECOY'))
            trade = pb.Event(topic='trade.%s.' % ACC.account_id, seq=seq, bridge_epoch=epoch,
                             time_ns=now, trade=pb.XtTrade(
                                 account_type=2, account_id=ACC.account_id,
                                 stock_code='600000.SH', order_id=DECOY_ORDER_ID,
                                 traded_id='DECOY', traded_volume=100, order_remark='DECOY'))
            # it passes for the bridge: a trader subscribed here would connect and take it
            hb = pb.Event(topic='heartbeat.', seq=seq, bridge_epoch=epoch, time_ns=now,
                          heartbeat=pb.Heartbeat(instance_id=instance_id, interval_ms=200))
            for ev in (order, trade, hb):
                self.sock.send_multipart([ev.topic.encode(), ev.SerializeToString()])

    def close(self):
        self.stop_flag.set()
        if self.thread is not None:
            self.thread.join(2)
        self.sock.close(0)

    def expect_live(self):
        """A SUB on 127.0.0.1:P hears the decoy: it would be heard by a wrong client."""
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b'order.')
        sub.connect(self.endpoint)
        try:
            assert sub.poll(3000), 'the decoy on %s is silent' % self.endpoint
            ev = self.pb.Event()
            ev.ParseFromString(sub.recv_multipart()[-1])
            assert ev.order.order_id == DECOY_ORDER_ID
        finally:
            sub.close(0)


def _port_free(host, port):
    sock = zmq.Context.instance().socket(zmq.ROUTER)
    try:
        sock.bind('tcp://%s:%d' % (host, port))
        return True
    except zmq.ZMQError:
        return False
    finally:
        sock.close(0)


def _decoy_and_router_port(pb):
    """The decoy on 127.0.0.1:P with P free on 127.0.0.2 too, and a ROUTER port free on
    127.0.0.2; random ports below the kernel's ephemeral range, so parallel runs and
    outgoing connections do not pick the same ones."""
    rnd = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(50):
        port, router = rnd.randrange(20000, 32000), rnd.randrange(20000, 32000)
        if port == router or not (_port_free('127.0.0.2', port)
                                  and _port_free('127.0.0.2', router)):
            continue
        try:
            return Decoy(pb, port), router
        except zmq.ZMQError:
            continue
    pytest.fail('no free port pair on 127.0.0.1 / 127.0.0.2')


@pytest.fixture
def remote(tmp_path, pb):
    """(bridge, decoy): the bridge on 127.0.0.2 announcing tcp://*:P, the decoy on
    127.0.0.1:P publishing."""
    decoy, router_port = _decoy_and_router_port(pb)
    router = 'tcp://127.0.0.2:%d' % router_port
    cfg = tmp_path / 'bridge.cfg'
    cfg.write_text('bridge\n    pub_advertise = tcp://*:%d\n' % decoy.port)
    b = start_bridge(router, 'tcp://127.0.0.2:%d' % decoy.port, tmp_path, pb, config=str(cfg))
    hello = raw_call(router, pb, 'hello', pb.HelloRequest(client_name='test')).hello
    decoy.start(hello.bridge_epoch, hello.instance_id)
    yield b, decoy
    decoy.close()
    rc = b.terminate()
    assert rc == 0, 'bridge exit code %s after SIGTERM:\n%s' % (rc, b.log())


def test_trader_hears_the_bridge_it_reached_never_the_decoy(remote, make_trader, pb):
    bridge, decoy = remote
    trader, rec = make_trader(bridge.router, timeout=5.0)
    assert trader.connect_result == 0
    assert list(trader.hello.pub_endpoints) == ['tcp://*:%d' % decoy.port]
    assert trader._dispatcher.pub_endpoints == ['tcp://127.0.0.2:%d' % decoy.port]
    assert trader.subscribe(ACC) == 0

    # marketable (last 10.60): reported and filled at once
    oid = trader.order_stock(ACC, '600000.SH', xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE,
                             10.60, 'remote', '')
    assert oid > 0
    assert rec.wait_for(lambda ev: any(n == 'on_stock_trade' and o.order_id == oid
                                       for n, o in ev))
    # the decoy sends every 5 ms: half a second would bring ~100 of its pushes
    assert not rec.wait_for(lambda ev: any(getattr(o, 'order_remark', '') == 'DECOY'
                                           for _, o in ev), timeout=0.5)
    orders, trades = rec.of('on_stock_order'), rec.of('on_stock_trade')
    assert [o.order_id for o in orders if o.order_id == DECOY_ORDER_ID] == []
    assert [t.traded_id for t in trades if t.traded_id == 'DECOY'] == []
    assert orders and {o.order_id for o in orders} == {oid}
    assert [(t.order_id, t.traded_volume) for t in trades] == [(oid, 100)]
    decoy.expect_live()


class Proxy(object):
    """An XSUB/XPUB proxy on ipc:// endpoints, in a thread that stops on close()."""

    def __init__(self, base):
        ctx = zmq.Context.instance()
        self.xsub, self.xpub = ctx.socket(zmq.XSUB), ctx.socket(zmq.XPUB)
        self.in_ep, self.out_ep = 'ipc://%s-xsub' % base, 'ipc://%s-xpub' % base
        self.xsub.bind(self.in_ep)
        self.xpub.bind(self.out_ep)
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        poller = zmq.Poller()
        poller.register(self.xsub, zmq.POLLIN)
        poller.register(self.xpub, zmq.POLLIN)
        while not self.stop_flag.is_set():
            for sock, _ in poller.poll(50):
                other = self.xpub if sock is self.xsub else self.xsub
                other.send_multipart(sock.recv_multipart())

    def close(self):
        self.stop_flag.set()
        self.thread.join(2)
        self.xsub.close(0)
        self.xpub.close(0)


def test_pub_endpoint_override_for_a_pub_behind_a_proxy(endpoints, tmp_path, pb, make_trader,
                                                         monkeypatch):
    proxy = Proxy(endpoints[1][len('ipc://'):])
    try:
        b = start_bridge(endpoints[0], '>' + proxy.in_ep, tmp_path, pb)
        try:
            monkeypatch.delenv('XTBRIDGE_PUB_ENDPOINT', raising=False)
            trader, _ = make_trader(b.router, timeout=2.0)
            assert list(trader.hello.pub_endpoints) == []
            assert trader.connect_result == -1          # nothing announced, nothing given

            trader, rec = make_trader(b.router, timeout=5.0, pub_endpoint=proxy.out_ep)
            assert trader.connect_result == 0           # heartbeats came through the proxy
            assert trader._dispatcher.pub_endpoints == [proxy.out_ep]
            assert trader.subscribe(ACC) == 0
            oid = trader.order_stock(ACC, '600000.SH', xtconstant.STOCK_BUY, 100,
                                     xtconstant.FIX_PRICE, 10.60, 'proxy', '')
            assert rec.wait_for(lambda ev: any(n == 'on_stock_trade' and o.order_id == oid
                                               for n, o in ev))

            monkeypatch.setenv('XTBRIDGE_PUB_ENDPOINT', proxy.out_ep)
            trader, _ = make_trader(b.router, timeout=5.0)
            assert trader.connect_result == 0
            assert trader._dispatcher.pub_endpoints == [proxy.out_ep]
        finally:
            rc = b.terminate()
            assert rc == 0, b.log()
    finally:
        proxy.close()
        for ep in (proxy.in_ep, proxy.out_ep):
            try:
                os.unlink(ep[len('ipc://'):])
            except OSError:
                pass
