"""Client behaviour the real bridge cannot be made to show on cue, against FakeBridge:
retries with the same request_id, a dead bridge, seq gaps and replay, duplicates,
UNKNOWN_CALL fallbacks, heartbeat loss, callback threading and *_async queries."""

import threading
import time

from xtquant import xtconstant
from xtquant.xttype import StockAccount, XtOrder

from conftest import wait_post_subscribe_replays

ACC = StockAccount('1000000365')


def test_connect_and_subscribe_topics(fake, make_trader, endpoints):
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    (rid, req), = fake.requests('subscribe')
    assert req.subscribe.account.account_id == '1000000365'
    assert req.subscribe.account.account_type == 2
    # Pushes of the account reach the callbacks, other accounts' do not.
    fake.publish(fake.event('order.1000000365.', 'order', fake.pb.XtOrder(
        account_id='1000000365', order_id=5, order_status=50)))
    fake.publish(fake.event('order.999.', 'order', fake.pb.XtOrder(account_id='999', order_id=6)))
    fake.publish(fake.event('trade.1000000365.', 'trade', fake.pb.XtTrade(
        account_id='1000000365', order_id=5, traded_volume=100)))
    assert rec.wait_for(lambda ev: len([e for e in ev if e[0] == 'on_stock_trade']) == 1)
    orders = rec.of('on_stock_order')
    assert [o.order_id for o in orders] == [5]
    assert isinstance(orders[0], XtOrder) and orders[0].order_status == 50
    assert rec.of('on_stock_trade')[0].traded_volume == 100
    assert trader.unsubscribe(ACC) == 0


def test_retry_reuses_request_id_and_routing_id(fake, make_trader, endpoints, pb):
    seen = []

    def drop_first(req):
        seen.append(req.request_id)
        if len(seen) == 1:
            return None                         # lost: the client must retry
        rep = pb.Reply(request_id=req.request_id)
        rep.order_stock.order_id = 4242
        return rep
    fake.handlers['order_stock'] = drop_first
    trader, rec = make_trader(endpoints[0], timeout=3.0, retry_interval=0.2)
    assert trader.connect_result == 0
    t0 = time.monotonic()
    oid = trader.order_stock(ACC, '600000.SH', xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE,
                             10.5, 's', 'r')
    assert oid == 4242
    assert time.monotonic() - t0 < 2.0
    reqs = fake.requests('order_stock')
    assert len(reqs) == 2
    assert reqs[0][1].request_id == reqs[1][1].request_id      # same request_id on retry
    assert reqs[0][0] == reqs[1][0]                            # same routing id
    assert reqs[0][0].startswith(b'xtb-py-')
    # and the hello went out from that same routing id
    assert fake.requests('hello')[0][0] == reqs[0][0]
    assert reqs[0][1].order_stock.price == 10.5
    assert reqs[0][1].order_stock.order_volume == 100
    # a new call gets a new request_id
    trader.order_stock(ACC, '600000.SH', xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE, 10.5)
    assert fake.requests('order_stock')[2][1].request_id != reqs[0][1].request_id


def test_duplicate_in_flight_keeps_waiting(fake, make_trader, endpoints, pb):
    calls = []

    def slow(req):
        calls.append(req.request_id)
        rep = pb.Reply(request_id=req.request_id)
        if len(calls) == 1:
            return None
        if len(calls) == 2:
            rep.error.code = pb.DUPLICATE_IN_FLIGHT
            return rep
        rep.cancel_order_stock.result = 0
        return rep
    fake.handlers['cancel_order_stock'] = slow
    trader, _ = make_trader(endpoints[0], timeout=3.0, retry_interval=0.2)
    assert trader.cancel_order_stock(ACC, 17) == 0
    assert len(set(calls)) == 1 and len(calls) == 3


def test_connect_to_nothing_returns_within_timeout(make_trader, endpoints):
    t0 = time.monotonic()
    trader, rec = make_trader(endpoints[0], timeout=1.0, retry_interval=0.2)
    assert trader.connect_result != 0
    assert time.monotonic() - t0 < 2.5
    # calls on a trader that never connected fail the xtquant way, at once
    assert trader.order_stock(ACC, '600000.SH', 23, 100, 11, 10.5) == -1
    assert trader.query_stock_asset(ACC) is None
    assert trader.query_stock_orders(ACC) is None
    assert trader.subscribe(ACC) == -1


def test_dead_bridge_calls_fail_within_timeout_and_on_disconnected(fake, make_trader, endpoints):
    trader, rec = make_trader(endpoints[0], timeout=1.0, retry_interval=0.2)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    fake.close()                                 # the bridge dies
    t0 = time.monotonic()
    assert trader.order_stock(ACC, '600000.SH', 23, 100, 11, 10.5) == -1
    assert trader.order_stock_async(ACC, '600000.SH', 23, 100, 11, 10.5) == -1
    assert trader.cancel_order_stock(ACC, 1) == -1
    assert trader.query_stock_asset(ACC) is None
    assert trader.query_stock_positions(ACC) is None
    assert trader.fund_transfer(ACC, 510, 1.0)[0] is False
    assert 'error' in trader.export_data(ACC, 'x.csv', 'deal')
    assert time.monotonic() - t0 < 7 * 1.5
    # 3 heartbeat intervals (3 x 100 ms) without heartbeats -> on_disconnected, once
    assert rec.wait_for(lambda ev: ('on_disconnected', None) in ev, timeout=3)
    time.sleep(0.5)
    assert len(rec.of('on_disconnected')) == 1


def test_heartbeat_pause_then_resume(fake, make_trader, endpoints):
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    fake.publish(fake.event('order.1000000365.', 'order', fake.pb.XtOrder(order_id=1)))
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 1)
    fake.heartbeats = False
    assert rec.wait_for(lambda ev: ('on_disconnected', None) in ev, timeout=3)
    # while "gone" an event is journaled but never arrives (lost on the wire)
    fake.journal.append(fake.event('order.1000000365.', 'order', fake.pb.XtOrder(order_id=2)))
    fake.heartbeats = True
    assert rec.wait_for(lambda ev: ('on_connected', None) in ev, timeout=3)
    # the missed order was replayed before on_connected
    names = [n for n, _ in rec.events]
    assert [o.order_id for o in rec.of('on_stock_order')] == [1, 2]
    assert names.index('on_connected') > names.index('on_disconnected')


def test_gap_triggers_replay_and_duplicates_are_dropped(fake, make_trader, endpoints):
    trader, rec = make_trader(endpoints[0], timeout=2.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0
    assert wait_post_subscribe_replays(trader)  # its replays are not the ones checked here
    n_before = len(fake.requests('replay'))
    topic = 'order.1000000365.'
    e1 = fake.event(topic, 'order', fake.pb.XtOrder(order_id=101))
    e2 = fake.event(topic, 'order', fake.pb.XtOrder(order_id=102))
    e3 = fake.event(topic, 'order', fake.pb.XtOrder(order_id=103))
    fake.publish(e1)
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 1)
    fake.journal.append(e2)                      # journaled, but lost on the wire
    fake.publish(e3)
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 3)
    fake.publish(e3, journal=False)              # a duplicate (e.g. replay overlap)
    fake.publish(e2, journal=False)              # an old one
    e4 = fake.event(topic, 'order', fake.pb.XtOrder(order_id=104))
    fake.publish(e4)
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_order')) == 4)
    time.sleep(0.2)
    assert [o.order_id for o in rec.of('on_stock_order')] == [101, 102, 103, 104]
    (rid, req), = fake.requests('replay')[n_before:]
    assert req.replay.topic_prefix == topic
    assert dict(req.replay.after) == {topic: 1}


def test_unknown_call_falls_back_to_xtquant_failure_values(fake, make_trader, endpoints):
    trader, _ = make_trader(endpoints[0], timeout=1.0)
    assert trader.connect_result == 0
    assert trader.query_credit_detail(ACC) is None
    assert trader.query_stock_asset(ACC) is None
    assert trader.query_stock_order(ACC, 1) is None
    assert trader.query_stock_trades(ACC) is None
    assert trader.order_stock(ACC, '600000.SH', 23, 100, 11, 10.5) == -1
    assert trader.cancel_order_stock_sysid_async(ACC, 0, '1') == -1
    assert trader.smt_negotiate_order_async(ACC, '', '000001.SZ', 7, 100, 0.2) == -1
    assert trader.query_com_fund(ACC)['success'] is False
    assert trader.fund_transfer(ACC, 510, 1.0)[0] is False
    assert trader.set_relaxed_response_order_enabled(True) is None
    # each was one request (no retries on an answered error)
    assert len(fake.requests('query_credit_detail')) == 1


def test_results_map_to_xtquant_shapes(fake, make_trader, endpoints, pb):
    def answer(name, fill):
        def h(req):
            rep = pb.Reply(request_id=req.request_id)
            fill(getattr(rep, name))
            return rep
        fake.handlers[name] = h
    answer('query_stock_asset', lambda r: (setattr(r, 'found', True), r.asset.MergeFrom(
        pb.XtAsset(account_id='1000000365', cash=1.5, total_asset=2.5))))
    answer('query_stock_position', lambda r: setattr(r, 'found', False))
    answer('query_new_purchase_limit', lambda r: r.limits.extend(
        [pb.PurchaseLimit(type='KCB', number=500), pb.PurchaseLimit(type='SH', number=1000)]))
    answer('query_ipo_data', lambda r: r.ipos.append(pb.IpoInfo(
        stock_code='301208.SZ', name='中亦科技', type='STOCK', minPurchaseNum=500,
        maxPurchaseNum=16500, purchaseDate='20220627', issuePrice=46.06)))
    answer('fund_transfer', lambda r: (setattr(r, 'success', True), setattr(r, 'msg', 'ok')))
    answer('export_data', lambda r: setattr(r, 'json', '{"msg": "export success"}'))
    answer('query_com_fund', lambda r: r.fund.MergeFrom(pb.ComFund(success=True, debt=1.0)))
    answer('query_stock_orders', lambda r: None)
    trader, _ = make_trader(endpoints[0], timeout=1.0)
    asset = trader.query_stock_asset(ACC)
    assert (asset.account_id, asset.cash, asset.total_asset) == ('1000000365', 1.5, 2.5)
    assert trader.query_stock_position(ACC, '600000.SH') is None
    assert trader.query_new_purchase_limit(ACC) == {'KCB': 500, 'SH': 1000}
    assert trader.query_ipo_data() == {'301208.SZ': {
        'name': '中亦科技', 'type': 'STOCK', 'minPurchaseNum': 500, 'maxPurchaseNum': 16500,
        'purchaseDate': '20220627', 'issuePrice': 46.06}}
    assert trader.fund_transfer(ACC, xtconstant.FUNDS_TRANSFER_NORMAL_TO_SPEED, 100) == (True, 'ok')
    assert trader.export_data(ACC, 'deal.csv', 'deal') == {'msg': 'export success'}
    fund = trader.query_com_fund(ACC)
    assert fund['success'] is True and fund['debt'] == 1.0 and 'currentBalance' in fund
    assert trader.query_stock_orders(ACC) == []
    (_, req), = fake.requests('export_data')
    assert req.export_data.start_time == '' and req.export_data.user_param_json == '{}'


def test_callbacks_on_one_thread_and_async_query(fake, make_trader, endpoints, pb):
    def orders(req):
        rep = pb.Reply(request_id=req.request_id)
        rep.query_stock_orders.orders.append(pb.XtOrder(order_id=9))
        return rep
    fake.handlers['query_stock_orders'] = orders
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    assert trader.subscribe(ACC) == 0
    got = []
    seq = trader.query_stock_orders_async(ACC, lambda r: got.append(
        (threading.get_ident(), [o.order_id for o in r])))
    assert seq > 0
    fake.publish(fake.event('asset.1000000365.', 'asset', pb.XtAsset(cash=3.0)))
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_asset')) == 1)
    deadline = time.monotonic() + 3
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got and got[0][1] == [9]
    assert rec.threads == {got[0][0]}            # same thread as the pushes
    assert rec.threads != {threading.get_ident()}


def test_callback_may_call_sync_queries(fake, make_trader, endpoints, pb):
    def asset(req):
        rep = pb.Reply(request_id=req.request_id)
        rep.query_stock_asset.found = True
        rep.query_stock_asset.asset.cash = 7.0
        return rep
    fake.handlers['query_stock_asset'] = asset
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    assert trader.subscribe(ACC) == 0
    seen = []
    rec.on_stock_order = lambda order: seen.append(trader.query_stock_asset(ACC).cash)
    fake.publish(fake.event('order.1000000365.', 'order', pb.XtOrder(order_id=1)))
    deadline = time.monotonic() + 3
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [7.0]


def test_bridge_push_disconnected_maps_to_callback(fake, make_trader, endpoints, pb):
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    fake.publish(fake.event('disconnected.', 'disconnected', pb.Disconnected(reason='x')))
    fake.publish(fake.event('connected.', 'connected', pb.Connected(instance_id='fake-1')))
    assert rec.wait_for(lambda ev: [n for n, _ in ev] == ['on_disconnected', 'on_connected'])


def test_run_forever_returns_on_stop(fake, make_trader, endpoints):
    trader, _ = make_trader(endpoints[0], timeout=1.0)
    threading.Timer(0.3, trader.stop).start()
    t0 = time.monotonic()
    trader.run_forever()
    assert time.monotonic() - t0 < 2


def test_stop_from_a_callback_does_not_deadlock(fake, make_trader, endpoints, pb):
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    assert trader.subscribe(ACC) == 0
    rec.on_stock_order = lambda order: trader.stop()
    fake.publish(fake.event('order.1000000365.', 'order', pb.XtOrder(order_id=1)))
    t0 = time.monotonic()
    trader.run_forever()                     # returns once the stop completed
    assert time.monotonic() - t0 < 3


def test_async_queries_each_get_their_own_callback_once(fake, make_trader, endpoints, pb):
    """A gateway loads its state with four *_async queries in a row: each callback must be
    called once, with its own query's result, even when the callback thread is busy while
    the queries run (their results then wait in its queue)."""
    def asset(req):
        rep = pb.Reply(request_id=req.request_id)
        rep.query_stock_asset.found = True
        rep.query_stock_asset.asset.cash = 5.0
        return rep

    def orders(req):
        rep = pb.Reply(request_id=req.request_id)
        rep.query_stock_orders.orders.append(pb.XtOrder(order_id=9, price_type=50))
        return rep
    fake.handlers['query_stock_asset'] = asset
    fake.handlers['query_stock_orders'] = orders
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    release = threading.Event()
    trader._dispatcher.post(lambda: release.wait(3))        # the callback thread is busy
    got = []
    assert trader.query_stock_asset_async(ACC, lambda r: got.append(('asset', r))) > 0
    assert trader.query_stock_orders_async(ACC, lambda r: got.append(('orders', r))) > 0
    assert trader.query_stock_trades_async(ACC, lambda r: got.append(('trades', r))) > 0
    assert trader.query_stock_positions_async(ACC, lambda r: got.append(('positions', r))) > 0
    deadline = time.monotonic() + 3
    while len(fake.requests('query_stock_positions')) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)                              # the worker has posted all four results
    release.set()
    deadline = time.monotonic() + 3
    while len(got) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert [name for name, _ in got] == ['asset', 'orders', 'trades', 'positions']
    assert got[0][1].cash == 5.0
    assert [(o.order_id, o.price_type) for o in got[1][1]] == [(9, 50)]
    assert got[2][1] is None and got[3][1] is None   # the fake serves neither: None


def test_order_stock_async_with_keyword_arguments(fake, make_trader, endpoints, pb):
    """The vendor's parameter names work as keywords, in any order (gateways call it so)."""
    def order_async(req):
        rep = pb.Reply(request_id=req.request_id)
        rep.order_stock_async.seq = 3
        return rep
    fake.handlers['order_stock_async'] = order_async
    fake.handlers['cancel_order_stock_sysid_async'] = lambda req: pb.Reply(
        request_id=req.request_id, cancel_order_stock_sysid_async=pb.CancelAsyncReply(seq=4))
    trader, _ = make_trader(endpoints[0], timeout=1.0)
    assert trader.order_stock_async(
        account=ACC, stock_code='000001.SZ', order_type=xtconstant.STOCK_BUY,
        order_volume=200, price_type=xtconstant.MARKET_SZ_CONVERT_5_CANCEL, price=0,
        strategy_name='gw', order_remark='1113020455000001') == 3
    (_, req), = fake.requests('order_stock_async')
    o = req.order_stock_async
    assert (o.account.account_id, o.stock_code, o.order_type, o.order_volume, o.price_type,
            o.price, o.strategy_name, o.order_remark) == (
        '1000000365', '000001.SZ', 23, 200, 47, 0.0, 'gw', '1113020455000001')
    assert trader.cancel_order_stock_sysid_async(ACC, xtconstant.SZ_MARKET, '20000001') == 4
    (_, req), = fake.requests('cancel_order_stock_sysid_async')
    c = req.cancel_order_stock_sysid_async
    assert (c.market, c.order_sysid) == (1, '20000001')


def test_one_loss_is_one_on_disconnected(fake, make_trader, endpoints, pb):
    """A terminal calls on_disconnected once per session loss. The bridge's `disconnected.`
    push (it shuts down) and the silence of its heartbeats after it are one loss; when a new
    bridge process (new instance id) answers, on_connected follows, once."""
    trader, rec = make_trader(endpoints[0], timeout=1.0)
    assert trader.subscribe(ACC) == 0
    fake.publish(fake.event('disconnected.', 'disconnected', pb.Disconnected(reason='stop')))
    fake.heartbeats = False
    assert rec.wait_for(lambda ev: rec.of('on_disconnected'), timeout=3)
    time.sleep(0.6)                              # 6 heartbeat intervals of silence
    assert [n for n, _ in rec.events] == ['on_disconnected']
    fake.instance_id = 'fake-2'
    fake.heartbeats = True
    assert rec.wait_for(lambda ev: rec.of('on_connected'), timeout=3)
    time.sleep(0.3)
    assert [n for n, _ in rec.events] == ['on_disconnected', 'on_connected']
