#!/usr/bin/python3
"""xtquant_latency.py - what the bridge adds to an xtquant call, and how fast terminal pushes
get through it. A benchmark to run by hand (not a timed test):

  bench/xtquant_latency.py [--build DIR] [--calls N] [--pushes N]

1. Direct: the stand-in xtquant (tests/xtquant_standin) called in this Python process, as a
   strategy on the terminal's machine calls xtquant: XtQuantTrader.query_stock_asset and
   order_stock (a resting order), N times each.
2. Bridged: the same calls through `DIR/bin/xtbridge --backend xtquant` (the bridge embeds
   CPython and calls the same stand-in on its actor thread) from a DEALER socket on ipc://,
   one call in flight at a time: request -> router -> actor -> Python -> reply (order_stock
   also commits its idempotency row and journals its pushes). A bridge `ping` from the same
   socket is printed beside them: the share of the transport alone.
3. Pushes: one order with the stand-in's hook:burst:N makes its callback thread fire N
   on_stock_order pushes as fast as it can; a SUB counts them in order (per-topic seq + 1)
   and the rate is N / (first reply sent .. last push received).

Prints microseconds per call for both paths and their ratio, and the push rate. Use a
Release build (bench/run.sh builds build-bench; or cmake -DCMAKE_BUILD_TYPE=Release): a
Debug/ASan bridge is several times slower. Files live under $XTB_TMPDIR (default
DIR/tmp); the bridge it starts is stopped by its pid.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STANDIN = os.path.join(ROOT, 'tests', 'xtquant_standin')
ACC = '1000000365'


def direct(calls):
    sys.path.insert(0, STANDIN)
    from xtquant.xttrader import XtQuantTrader
    from xtquant.xttype import StockAccount
    trader = XtQuantTrader('userdata_mini', 1)
    trader.start()
    assert trader.connect() == 0
    acc = StockAccount(ACC)
    out = {}
    t0 = time.perf_counter()
    for _ in range(calls):
        assert trader.query_stock_asset(acc) is not None
    out['query_stock_asset'] = (time.perf_counter() - t0) / calls * 1e6
    t0 = time.perf_counter()
    for _ in range(calls):
        assert trader.order_stock(acc, '600000.SH', 23, 100, 11, 9.0, 'bench', '') > 0
    out['order_stock'] = (time.perf_counter() - t0) / calls * 1e6
    trader.stop()
    return out


class Bridge:
    def __init__(self, build, tmp):
        self.dir = os.path.join(tmp, 'xtq-bench-%d' % os.getpid())
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.router = 'ipc://%s/router' % self.dir
        self.pub = 'ipc://%s/pub' % self.dir
        cfg = os.path.join(self.dir, 'xtquant.cfg')
        with open(cfg, 'w') as f:
            f.write('xtquant\n    qmt_path = "userdata_mini"\n    session_id = 100\n'
                    '    call_timeout_ms = 30000\n')
        env = dict(os.environ, PYTHONPATH=STANDIN, ASAN_OPTIONS='detect_leaks=0')
        self.log = open(os.path.join(self.dir, 'bridge.log'), 'w')
        self.proc = subprocess.Popen(
            [os.path.join(build, 'bin', 'xtbridge'), '--backend', 'xtquant', '--config', cfg,
             '--router', self.router, '--pub', self.pub, '--data',
             os.path.join(self.dir, 'data'), '--log-level', 'warn'],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def bridged(bridge, pb, calls, pushes):
    ctx = zmq.Context.instance()
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.ROUTING_ID, b'xtq-bench-%d' % os.getpid())
    dealer.setsockopt(zmq.RCVTIMEO, 30000)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.connect(bridge.router)
    n = [0]

    def call(**body):
        n[0] += 1
        req = pb.Request(request_id='b%d' % n[0], **body)
        dealer.send(req.SerializeToString())
        rep = pb.Reply.FromString(dealer.recv())
        assert rep.error.code == 0, rep.error.message
        return rep

    deadline = time.monotonic() + 20
    while True:  # wait until the bridge answers
        try:
            call(ping=pb.PingRequest())
            break
        except zmq.Again:
            if time.monotonic() > deadline or bridge.proc.poll() is not None:
                raise SystemExit('the bridge did not start; see its log in ' + bridge.dir)
    account = pb.Account(account_id=ACC)
    out = {}
    for _ in range(100):  # warm up
        call(query_stock_asset=pb.AccountRequest(account=account))
    t0 = time.perf_counter()
    for _ in range(calls):
        call(ping=pb.PingRequest())
    out['ping'] = (time.perf_counter() - t0) / calls * 1e6
    t0 = time.perf_counter()
    for _ in range(calls):
        call(query_stock_asset=pb.AccountRequest(account=account))
    out['query_stock_asset'] = (time.perf_counter() - t0) / calls * 1e6
    t0 = time.perf_counter()
    for _ in range(calls):
        call(order_stock=pb.OrderStockRequest(
            account=account, stock_code='600000.SH', order_type=23, order_volume=100,
            price_type=11, price=9.0, strategy_name='bench'))
    out['order_stock'] = (time.perf_counter() - t0) / calls * 1e6

    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVTIMEO, 10000)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.connect(bridge.pub)
    sub.setsockopt(zmq.SUBSCRIBE, ('order.%s.' % ACC).encode())
    sub.setsockopt(zmq.SUBSCRIBE, b'heartbeat.')
    while sub.recv_multipart()[0] != b'heartbeat.':  # the filters are in effect
        pass
    sub.setsockopt(zmq.UNSUBSCRIBE, b'heartbeat.')
    t0 = time.perf_counter()
    call(order_stock=pb.OrderStockRequest(
        account=account, stock_code='600000.SH', order_type=23, order_volume=100,
        price_type=11, price=9.0, strategy_name='hook:burst:%d' % pushes))
    got, last_seq, volume = 0, None, 0
    while got < pushes:
        topic, data = sub.recv_multipart()
        if topic == b'heartbeat.':
            continue  # queued before the unsubscribe took effect
        ev = pb.Event.FromString(data)
        if last_seq is not None:
            assert ev.seq == last_seq + 1, 'seq %d after %d' % (ev.seq, last_seq)
        last_seq = ev.seq
        volume += 1
        assert ev.order.order_volume == volume, 'push %d carries %d' % (
            volume, ev.order.order_volume)
        got += 1
    out['pushes_per_s'] = pushes / (time.perf_counter() - t0)
    sub.close()
    dealer.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build', default=os.path.join(ROOT, 'build-bench'),
                    help='build dir with bin/xtbridge and python/xtbridge_pb2.py')
    ap.add_argument('--calls', type=int, default=2000)
    ap.add_argument('--pushes', type=int, default=10000)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    sys.path.insert(0, os.path.join(build, 'python'))
    import xtbridge_pb2 as pb
    tmp = os.environ.get('XTB_TMPDIR') or os.path.join(build, 'tmp')
    os.makedirs(tmp, exist_ok=True)

    d = direct(args.calls)
    bridge = Bridge(build, tmp)
    try:
        b = bridged(bridge, pb, args.calls, args.pushes)
    finally:
        bridge.stop()
    print('per call, %d calls each, one in flight:' % args.calls)
    print('  %-18s %12s %12s %8s %14s' % ('call', 'direct us', 'bridged us', 'ratio',
                                           'added us'))
    for name in ('query_stock_asset', 'order_stock'):
        print('  %-18s %12.1f %12.1f %7.1fx %14.1f' % (name, d[name], b[name], b[name] / d[name],
                                                       b[name] - d[name]))
    print('  (a bridge ping, no backend and no Python, from the same socket: %.1f us; the rest\n'
          '   of "added" is the hop to the actor thread, the conversions and, for orders, the\n'
          '   store commit of the idempotency row and the pushes)' % b['ping'])
    print('pushes: %d from the stand-in thread, in order, %.0f pushes/s' % (
        args.pushes, b['pushes_per_s']))


if __name__ == '__main__':
    main()
