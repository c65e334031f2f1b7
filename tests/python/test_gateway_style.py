#coding=utf-8
"""A trading gateway written against real MiniQMT terminals drives the bridge unchanged.

The Gateway class below does what widely used open-source gateways built on
`xtquant.xttrader` do (modelled on the vn.py xt gateway; facts copied here, the code is
our own):
- orders with order_stock_async and keyword arguments, its own 16-digit local order id in
  order_remark ('1' + MMDDhhmmss + a 5-digit counter), FIX_PRICE for limit orders and the
  exchange's "best 5 then cancel" type (42 SH, 47 SZ) for market orders;
- on_stock_order keeps only orders with an order_remark whose price_type is the counter's
  code as a real terminal reports it: 50 (limit) or 88 (market); everything else is
  dropped. order_time / traded_time are read as epoch seconds;
- remembers order_sysid of active orders and cancels with cancel_order_stock_sysid_async;
- loads state with query_stock_asset_async / query_stock_orders_async /
  query_stock_trades_async / query_stock_positions_async(account, callback);
- on on_disconnected makes a NEW XtQuantTrader with a new session id (a terminal never
  takes a session id twice) until connect() works, then subscribes and loads again.
The test runs it against the real bridge (sim), restarts the bridge on the same --data
dir in the middle, and checks that every order reaches "all traded" (56) or "cancelled"
(54) as this gateway sees it, mapped back by its local id.
"""

import threading
import time

from xtquant import xtconstant
from xtquant.xttrader import XtQuantTrader, XtQuantTraderCallback
from xtquant.xttype import StockAccount, XtOrder

from conftest import raw_call, start_bridge

ACCOUNT_ID = '1000000365'
LIMIT, MARKET = 'LIMIT', 'MARKET'
PRICE_TYPE_XT2GW = {50: LIMIT, 88: MARKET}     # what such gateways accept
ACTIVE = (xtconstant.ORDER_UNREPORTED, xtconstant.ORDER_WAIT_REPORTING,
          xtconstant.ORDER_REPORTED, xtconstant.ORDER_REPORTED_CANCEL,
          xtconstant.ORDER_PARTSUCC_CANCEL, xtconstant.ORDER_PART_SUCC)


class Gateway(XtQuantTraderCallback):
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.account = StockAccount(ACCOUNT_ID)
        self.session_id = int(time.strftime('%H%M%S')) * 1000
        self.sessions = []
        self.trader = None
        self.count = 0
        self.cond = threading.Condition()
        self.orders = {}        # local id -> latest XtOrder accepted
        self.codes = {}         # local id -> stock code (from send_order)
        self.sysids = {}        # local id -> order_sysid, active orders only
        self.trades = {}        # traded_id -> XtTrade
        self.rejected = set()
        self.ignored = []       # order pushes the price_type filter dropped
        self.asset = None
        self.positions = None
        self.loaded = set()     # which async queries answered since the last connect
        self.disconnects = 0
        self.reconnects = 0
        self.errors = []

    # ---- connection ----------------------------------------------------------------
    def connect(self):
        self.session_id += 1                    # never reuse a session id
        trader = XtQuantTrader(self.endpoint, self.session_id, timeout=2.0)
        trader.register_callback(self)
        trader.start()
        if trader.connect() != 0:
            trader.stop()
            return False
        if trader.subscribe(self.account) != 0:
            trader.stop()
            return False
        self.sessions.append(self.session_id)
        with self.cond:
            self.trader = trader
            self.loaded = set()
        trader.query_stock_asset_async(self.account, self.on_query_asset)
        trader.query_stock_orders_async(self.account, self.on_query_orders)
        trader.query_stock_trades_async(self.account, self.on_query_trades)
        trader.query_stock_positions_async(self.account, self.on_query_positions)
        return True

    def on_disconnected(self):
        with self.cond:
            self.disconnects += 1
            old, self.trader = self.trader, None
        threading.Thread(target=self._reconnect, args=(old,), daemon=True).start()

    def _reconnect(self, old):
        if old is not None:
            old.stop()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.connect():
                with self.cond:
                    self.reconnects += 1
                    self.cond.notify_all()
                return
            time.sleep(0.2)
        self.errors.append('could not reconnect within 30 s')

    def close(self):
        with self.cond:
            trader, self.trader = self.trader, None
        if trader is not None:
            trader.stop()

    # ---- orders --------------------------------------------------------------------
    def new_local_id(self):
        self.count += 1
        return time.strftime('1%m%d%H%M%S') + str(self.count).rjust(5, '0')

    def send_order(self, code, order_type, volume, price, kind=LIMIT):
        local = self.new_local_id()
        if kind == LIMIT:
            price_type = xtconstant.FIX_PRICE
        elif code.endswith('.SH'):
            price_type = xtconstant.MARKET_SH_CONVERT_5_CANCEL
        else:
            price_type = xtconstant.MARKET_SZ_CONVERT_5_CANCEL
        self.codes[local] = code
        seq = self.trader.order_stock_async(
            account=self.account, stock_code=code, order_type=order_type,
            order_volume=volume, price_type=price_type, price=price, strategy_name='gateway',
            order_remark=local)
        assert seq > 0, seq
        return local

    def cancel_order(self, local):
        with self.cond:
            sysid = self.sysids.get(local)
        if not sysid:
            self.errors.append('cancel %s: no sysid known' % local)
            return -1
        market = (xtconstant.SH_MARKET if self.codes[local].endswith('.SH')
                  else xtconstant.SZ_MARKET)
        return self.trader.cancel_order_stock_sysid_async(self.account, market, sysid)

    # ---- pushes --------------------------------------------------------------------
    def on_stock_order(self, order):
        if not order.order_remark:
            return
        if order.price_type not in PRICE_TYPE_XT2GW:
            with self.cond:
                self.ignored.append(order)
            return
        if abs(order.order_time - time.time()) > 3600:      # read as epoch seconds
            self.errors.append('order_time %r is not epoch seconds' % order.order_time)
        with self.cond:
            self.orders[order.order_remark] = order
            if order.order_status in ACTIVE:
                self.sysids[order.order_remark] = order.order_sysid
            else:
                self.sysids.pop(order.order_remark, None)
            self.cond.notify_all()

    def on_stock_trade(self, trade):
        if not trade.order_remark:
            return
        if abs(trade.traded_time - time.time()) > 3600:
            self.errors.append('traded_time %r is not epoch seconds' % trade.traded_time)
        if not isinstance(trade.traded_id, str) or not trade.traded_id:
            self.errors.append('traded_id %r is not a string' % (trade.traded_id,))
        with self.cond:
            self.trades[trade.traded_id] = trade
            self.cond.notify_all()

    def on_order_error(self, error):
        with self.cond:
            self.rejected.add(error.order_remark)
            self.cond.notify_all()

    def on_cancel_error(self, error):
        self.errors.append('cancel error %s: %s' % (error.error_id, error.error_msg))

    # ---- query answers (run on the trader's callback thread) -----------------------
    def _loaded(self, what):
        with self.cond:
            self.loaded.add(what)
            self.cond.notify_all()

    def on_query_asset(self, asset):
        self.asset = asset
        self._loaded('asset')

    def on_query_orders(self, orders):
        for order in orders or []:
            self.on_stock_order(order)
        self._loaded('orders')

    def on_query_trades(self, trades):
        for trade in trades or []:
            self.on_stock_trade(trade)
        self._loaded('trades')

    def on_query_positions(self, positions):
        self.positions = {p.stock_code: p for p in positions or [] if p.market_value}
        self._loaded('positions')

    # ---- for the test ----------------------------------------------------------------
    def wait(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def status(self, local):
        o = self.orders.get(local)
        return o.order_status if o is not None else None

    def traded(self, local):
        return sum(t.traded_volume for t in self.trades.values() if t.order_remark == local)


def sim(router, pb, name, body):
    rep = raw_call(router, pb, name, body)
    assert rep is not None and rep.error.code == pb.OK, (name, rep)


ALL = ('asset', 'orders', 'trades', 'positions')


def test_gateway_trades_through_a_bridge_restart(endpoints, tmp_path, pb):
    router, pub = endpoints
    bridge = start_bridge(router, pub, tmp_path, pb, heartbeat_ms=200)
    gw = Gateway(router)
    try:
        assert gw.connect()
        assert gw.wait(lambda: gw.loaded == set(ALL)), (gw.loaded, gw.errors)
        assert gw.asset.cash == 1000000.0
        assert gw.positions == {}

        # 600000.SH last 10.60, 000001.SZ last 11.00 (the sim's built-in prices)
        resting = gw.send_order('600000.SH', xtconstant.STOCK_BUY, 1000, 10.50)
        crossing = gw.send_order('600000.SH', xtconstant.STOCK_BUY, 500, 10.70)
        market_sz = gw.send_order('000001.SZ', xtconstant.STOCK_BUY, 200, 0, MARKET)
        to_cancel = gw.send_order('000001.SZ', xtconstant.STOCK_BUY, 100, 10.00)
        market_sh = gw.send_order('600000.SH', xtconstant.STOCK_BUY, 100, 0, MARKET)
        assert all(len(x) == 16 and x.isdigit() for x in (resting, crossing, to_cancel))

        # every order goes live in this gateway's eyes: the filter lets its pushes through
        assert gw.wait(lambda: gw.status(resting) == xtconstant.ORDER_REPORTED
                       and gw.status(to_cancel) == xtconstant.ORDER_REPORTED
                       and all(gw.status(x) == xtconstant.ORDER_SUCCEEDED
                               for x in (crossing, market_sz, market_sh))), gw.orders
        assert gw.orders[resting].price_type == 50
        assert gw.orders[market_sz].price_type == 88 and gw.orders[market_sh].price_type == 88
        assert gw.orders[market_sz].requested_price_type == xtconstant.MARKET_SZ_CONVERT_5_CANCEL
        assert gw.traded(crossing) == 500 and gw.traded(market_sz) == 200

        # cancel by the counter's contract number
        assert gw.cancel_order(to_cancel) > 0
        assert gw.wait(lambda: gw.status(to_cancel) == xtconstant.ORDER_CANCELED)
        assert to_cancel not in gw.sysids

        # the bridge restarts on the same data dir: one on_disconnected, then the gateway
        # comes back on a new XtQuantTrader with a new session id and reloads its state
        first_trader = gw.trader
        assert bridge.terminate() == 0
        assert gw.wait(lambda: gw.disconnects == 1, timeout=5)
        bridge = start_bridge(router, pub, tmp_path, pb, heartbeat_ms=200)
        assert gw.wait(lambda: gw.reconnects == 1 and gw.loaded == set(ALL), timeout=30), \
            gw.errors
        assert gw.trader is not first_trader
        assert len(gw.sessions) == 2 and gw.sessions[1] > gw.sessions[0]
        assert gw.asset.cash < 1000000.0
        assert set(gw.positions) == {'600000.SH', '000001.SZ'}

        # trading goes on through the new trader: the resting order fills, a new one is
        # cancelled by sysid
        sim(router, pb, 'sim_set_price', pb.SimSetPriceRequest(
            stock_code='600000.SH', last_price=10.40, pre_close=0, liquidity=-1))
        late = gw.send_order('000001.SZ', xtconstant.STOCK_BUY, 100, 10.00)
        assert gw.wait(lambda: gw.status(resting) == xtconstant.ORDER_SUCCEEDED
                       and gw.status(late) == xtconstant.ORDER_REPORTED)
        assert gw.cancel_order(late) > 0
        assert gw.wait(lambda: gw.status(late) == xtconstant.ORDER_CANCELED)

        final = {
            resting: xtconstant.ORDER_SUCCEEDED, crossing: xtconstant.ORDER_SUCCEEDED,
            market_sz: xtconstant.ORDER_SUCCEEDED, market_sh: xtconstant.ORDER_SUCCEEDED,
            to_cancel: xtconstant.ORDER_CANCELED, late: xtconstant.ORDER_CANCELED,
        }
        assert {k: gw.status(k) for k in final} == final
        for local, order in gw.orders.items():
            if order.order_status == xtconstant.ORDER_SUCCEEDED:
                assert gw.traded(local) == order.order_volume, local
        assert gw.ignored == [] and gw.rejected == set() and gw.errors == []
        assert gw.disconnects == 1
    finally:
        gw.close()
        bridge.terminate()


def test_gateway_filter_ignores_what_a_terminal_would_not_report():
    """The gateway's filter is what makes price_type matter: an order push reporting the
    requested 11 (as the sim did before) is dropped, so the order never goes live for it."""
    gw = Gateway('tcp://127.0.0.1:1')
    o = XtOrder(order_remark='1113020455000001', price_type=xtconstant.FIX_PRICE,
                order_status=xtconstant.ORDER_REPORTED, order_time=int(time.time()))
    gw.on_stock_order(o)
    assert gw.orders == {} and len(gw.ignored) == 1
    o.price_type = 50
    gw.on_stock_order(o)
    assert gw.status('1113020455000001') == xtconstant.ORDER_REPORTED


def test_callbacks_of_one_order_arrive_as_from_a_terminal(bridge, make_trader):
    """Through the bus, in the client's callbacks: the async response first, then the order
    at 48 and 50 with the counter's price_type 50, then the freeze; a cancel by sysid: its
    response, 51, 54, the released cash (docs/protocol.md §6.5)."""
    trader, rec = make_trader(bridge.router, timeout=5.0)
    acc = StockAccount(ACCOUNT_ID)
    assert trader.subscribe(acc) == 0
    seq = trader.order_stock_async(
        account=acc, stock_code='600000.SH', order_type=xtconstant.STOCK_BUY, order_volume=100,
        price_type=xtconstant.FIX_PRICE, price=10.00, strategy_name='gw',
        order_remark='1113020455000001')
    assert seq > 0
    assert rec.wait_for(lambda ev: len(ev) >= 4)
    names = [n for n, _ in rec.events[:4]]
    assert names == ['on_order_stock_async_response', 'on_stock_order', 'on_stock_order',
                     'on_stock_asset']
    response = rec.events[0][1]
    assert response.seq == seq and response.order_remark == '1113020455000001'
    o48, o50 = rec.events[1][1], rec.events[2][1]
    assert (o48.order_status, o50.order_status) == (48, 50)
    assert (o50.price_type, o50.requested_price_type) == (50, xtconstant.FIX_PRICE)
    assert o50.order_remark == '1113020455000001' and o50.order_id == response.order_id
    assert o50.order_sysid.isdigit() and o50.order_sysid != str(o50.order_id)
    assert abs(o50.order_time - time.time()) < 60                 # epoch seconds
    cseq = trader.cancel_order_stock_sysid_async(acc, xtconstant.SH_MARKET, o50.order_sysid)
    assert cseq > 0
    assert rec.wait_for(lambda ev: len(ev) >= 8)
    names = [n for n, _ in rec.events[4:8]]
    assert names == ['on_cancel_order_stock_async_response', 'on_stock_order', 'on_stock_order',
                     'on_stock_asset']
    assert rec.events[4][1].seq == cseq and rec.events[4][1].cancel_result == 0
    assert [rec.events[i][1].order_status for i in (5, 6)] == [51, 54]
    assert rec.events[7][1].frozen_cash == 0.0
