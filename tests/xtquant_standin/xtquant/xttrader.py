"""Stand-in xtquant.xttrader: XtQuantTrader and XtQuantTraderCallback.

Behaviour copied from the vendor doc: connect() returns 0 on success, subscribe() 0 / -1,
order_stock returns the order id (> 0) or -1, order_stock_async / cancel_*_async return a
seq > 0 and answer through on_order_stock_async_response / on_cancel_order_stock_async_response,
broker rejections arrive as on_order_error, every callback runs on the trader's own thread.

Matching rule: a BUY at or above FILL_PRICE (env XTQ_STANDIN_FILL_PRICE, default 10.0) fills
at once (order 50, trade, order 56); anything else rests at 50 (reported). A volume that is
not a positive multiple of 100 is rejected as the counter does: the order exists as junk
(57, status_msg = the reason), pushed, then on_order_error (error_id -61, the reason).
on_account_status is a change push (the doc: "账号状态信息变动推送"): subscribe() pushes
nothing; query_account_status() answers each account's current status.

Test hooks, chosen by the order's strategy_name (so a test can drive them over the wire):
  hook:drop        the order is accepted, then the session drops (on_disconnected)
  hook:raise       the call raises RuntimeError
  hook:hang:MS     the call sleeps MS milliseconds before answering
  hook:missing     the pushed and queried order lacks order_status and has price 'n/a'
  hook:burst:N     N on_stock_order pushes as fast as possible (order_volume 1..N)
and by query_stock_position's stock_code (a query, so it works when the bridge refuses
orders or when the call must place nothing):
  hook:status:N    the account's status becomes N, pushed as on_account_status; None
  hook:drop        the session drops (on_disconnected); None
A session id can be used once (as the terminal: a new session needs a new id); env
XTQ_STANDIN_USED_SESSIONS lists ids already taken, so connect() fails on them.
"""
import os
import queue
import threading
import time

from . import xtconstant
from .xttype import (XtAccountInfo, XtAccountStatus, XtAsset, XtCancelError,
                     XtCancelOrderResponse, XtOrder, XtOrderError, XtOrderResponse, XtPosition,
                     XtTrade)

ACCOUNTS = os.environ.get('XTQ_STANDIN_ACCOUNTS', '1000000365').split(',')
FILL_PRICE = float(os.environ.get('XTQ_STANDIN_FILL_PRICE', '10.0'))
ORDER_ID_BASE = 1082130432  # the terminal's order ids are of this size
# XTQ_STANDIN_USED_SESSIONS="100,101": ids taken by an earlier run (their connect() fails)
_used_sessions = set(int(x) for x in os.environ.get('XTQ_STANDIN_USED_SESSIONS', '').split(',')
                     if x)
# As a real terminal, XtOrder.price_type is the counter's own code, not the value sent:
# FIX_PRICE 11 -> 50 (limit), the best-5-then-cancel market types 42/47 -> 88. Other codes
# pass as sent (a test of the bridge's pass-through needs only these).
_BROKER_PRICE_TYPE = {xtconstant.FIX_PRICE: 50, xtconstant.MARKET_SH_CONVERT_5_CANCEL: 88,
                      xtconstant.MARKET_SZ_CONVERT_5_CANCEL: 88}
_lock = threading.Lock()
_book = {'orders': {}, 'trades': [], 'next_order': 0, 'next_seq': 0}
_status = dict((a, xtconstant.ACCOUNT_STATUS_OK) for a in ACCOUNTS)  # account -> status


class XtQuantTraderCallback(object):
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


class XtQuantTrader(object):
    def __init__(self, path, session, callback=None):
        self.path = path
        self.session = int(session)
        self.cb = callback
        self.connected = False
        self.q = queue.Queue()
        self.thread = None

    # --- session -------------------------------------------------------------------------
    def register_callback(self, callback):
        self.cb = callback

    def start(self):
        self.thread = threading.Thread(target=self._run, name='xtquant-callback', daemon=True)
        self.thread.start()

    def stop(self):
        if self.thread:
            self.q.put(None)
            self.thread.join()
            self.thread = None

    def connect(self):
        with _lock:
            if self.session in _used_sessions:
                return -1
            _used_sessions.add(self.session)
        self.connected = True
        self._push('on_connected')
        return 0

    def subscribe(self, account):
        if not self.connected or account.account_id not in ACCOUNTS:
            return -1
        return 0

    def unsubscribe(self, account):
        return 0 if self.connected and account.account_id in ACCOUNTS else -1

    def _run(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            name, args = item
            if self.cb is not None:
                getattr(self.cb, name)(*args)

    def _push(self, name, *args):
        self.q.put((name, args))

    # --- trading -------------------------------------------------------------------------
    def _hook(self, strategy_name):
        if strategy_name == 'hook:raise':
            raise RuntimeError('stand-in: raised on request')
        if strategy_name.startswith('hook:hang:'):
            time.sleep(int(strategy_name.split(':')[2]) / 1000.0)

    def _place(self, account, stock_code, order_type, order_volume, price_type, price,
               strategy_name, order_remark, seq):
        if not self.connected:
            return -1
        with _lock:
            _book['next_order'] += 1
            order_id = ORDER_ID_BASE + _book['next_order']
        if seq:
            self._push('on_order_stock_async_response', XtOrderResponse(
                account_type=account.account_type, account_id=account.account_id,
                order_id=order_id, strategy_name=strategy_name, order_remark=order_remark,
                seq=seq))
        if strategy_name.startswith('hook:burst:'):
            for i in range(1, int(strategy_name.split(':')[2]) + 1):
                self._push('on_stock_order', XtOrder(
                    account_type=account.account_type, account_id=account.account_id,
                    stock_code=stock_code, order_id=order_id, order_volume=i,
                    order_status=xtconstant.ORDER_REPORTED))
            return order_id
        if order_volume <= 0 or order_volume % 100:
            reason = 'volume %d is not a multiple of 100' % order_volume
            junk = XtOrder(account_type=account.account_type, account_id=account.account_id,
                           stock_code=stock_code, order_id=order_id,
                           order_sysid=str(order_id - ORDER_ID_BASE + 100000),
                           order_time=int(time.time()), order_type=order_type,
                           order_volume=order_volume, price_type=price_type, price=price,
                           order_status=xtconstant.ORDER_JUNK, status_msg=reason,
                           strategy_name=strategy_name, order_remark=order_remark, direction=48)
            _book['orders'][order_id] = junk
            self._push('on_stock_order', junk)
            self._push('on_order_error', XtOrderError(
                account_type=account.account_type, account_id=account.account_id,
                order_id=order_id, error_id=-61, error_msg=reason,
                strategy_name=strategy_name, order_remark=order_remark, seq=seq))
            return order_id
        order = XtOrder(account_type=account.account_type, account_id=account.account_id,
                        stock_code=stock_code, order_id=order_id,
                        order_sysid=str(order_id - ORDER_ID_BASE + 100000),
                        order_time=int(time.time()), order_type=order_type,
                        order_volume=order_volume,
                        price_type=_BROKER_PRICE_TYPE.get(price_type, price_type), price=price,
                        order_status=xtconstant.ORDER_REPORTED, strategy_name=strategy_name,
                        order_remark=order_remark, direction=48)
        if strategy_name == 'hook:missing':
            del order.order_status
            order.price = 'n/a'
        _book['orders'][order_id] = order
        self._push('on_stock_order', order)
        if (strategy_name != 'hook:missing' and order_type == xtconstant.STOCK_BUY
                and price >= FILL_PRICE):
            trade = XtTrade(account_type=account.account_type, account_id=account.account_id,
                            stock_code=stock_code, order_type=order_type,
                            traded_id='T%d' % order_id, traded_time=int(time.time()),
                            traded_price=price, traded_volume=order_volume,
                            traded_amount=price * order_volume, order_id=order_id,
                            order_sysid=order.order_sysid, strategy_name=strategy_name,
                            order_remark=order_remark, direction=48)
            _book['trades'].append(trade)
            filled = XtOrder(**vars(order))
            filled.order_status = xtconstant.ORDER_SUCCEEDED
            filled.traded_volume = order_volume
            filled.traded_price = price
            _book['orders'][order_id] = filled
            self._push('on_stock_trade', trade)
            self._push('on_stock_order', filled)
        if strategy_name == 'hook:drop':
            self.connected = False
            self._push('on_disconnected')
        return order_id

    def order_stock(self, account, stock_code, order_type, order_volume, price_type, price,
                    strategy_name='', order_remark=''):
        self._hook(strategy_name)
        return self._place(account, stock_code, order_type, order_volume, price_type, price,
                           strategy_name, order_remark, 0)

    def order_stock_async(self, account, stock_code, order_type, order_volume, price_type,
                          price, strategy_name='', order_remark=''):
        self._hook(strategy_name)
        if not self.connected:
            return -1
        with _lock:
            _book['next_seq'] += 1
            seq = _book['next_seq']
        self._place(account, stock_code, order_type, order_volume, price_type, price,
                    strategy_name, order_remark, seq)
        return seq

    def _cancel(self, account, order_id, seq):
        order = _book['orders'].get(order_id)
        ok = order is not None and getattr(order, 'order_status', 0) == xtconstant.ORDER_REPORTED
        if seq:  # the async response comes before the cancel's own pushes
            self._push('on_cancel_order_stock_async_response', XtCancelOrderResponse(
                account_type=account.account_type, account_id=account.account_id,
                order_id=order_id, cancel_result=0 if ok else -1, seq=seq))
        if not ok:  # the reason as the sim words it
            why = ('cancel %d: no such order' % order_id if order is None else
                   'cancel %d: order already finished (status %d)'
                   % (order_id, getattr(order, 'order_status', 0)))
            self._push('on_cancel_error', XtCancelError(
                account_type=account.account_type, account_id=account.account_id,
                order_id=order_id, error_id=-63, error_msg=why, seq=seq))
            return -1
        order.order_status = xtconstant.ORDER_CANCELED
        self._push('on_stock_order', order)
        return 0

    def cancel_order_stock(self, account, order_id):
        return self._cancel(account, order_id, 0) if self.connected else -1

    def cancel_order_stock_async(self, account, order_id):
        if not self.connected:
            return -1
        with _lock:
            _book['next_seq'] += 1
            seq = _book['next_seq']
        self._cancel(account, order_id, seq)
        return seq

    def _by_sysid(self, order_sysid):
        for order in _book['orders'].values():
            if order.order_sysid == order_sysid:
                return order.order_id
        return -1

    def cancel_order_stock_sysid(self, account, market, order_sysid):
        return self.cancel_order_stock(account, self._by_sysid(order_sysid))

    def cancel_order_stock_sysid_async(self, account, market, order_sysid):
        return self.cancel_order_stock_async(account, self._by_sysid(order_sysid))

    # --- queries -------------------------------------------------------------------------
    def query_stock_asset(self, account):
        if account.account_id not in ACCOUNTS:
            return None
        return XtAsset(account_type=account.account_type, account_id=account.account_id,
                       cash=1000000.0, frozen_cash=0.0, market_value=0.0, total_asset=1000000.0)

    def query_stock_order(self, account, order_id):
        return _book['orders'].get(order_id)

    def query_stock_orders(self, account, cancelable_only=False):
        return [o for o in _book['orders'].values() if o.account_id == account.account_id and
                (not cancelable_only or getattr(o, 'order_status', 0) == 50)]

    def query_stock_trades(self, account):
        return [t for t in _book['trades'] if t.account_id == account.account_id]

    def _positions(self, account):
        held = {}
        for t in _book['trades']:
            if t.account_id == account.account_id:
                held[t.stock_code] = held.get(t.stock_code, 0) + t.traded_volume
        return [XtPosition(account_type=account.account_type, account_id=account.account_id,
                           stock_code=code, volume=vol, can_use_volume=0, on_road_volume=0,
                           yesterday_volume=0) for code, vol in sorted(held.items())]

    def query_stock_positions(self, account):
        return self._positions(account)

    def query_stock_position(self, account, stock_code):
        if stock_code.startswith('hook:status:'):
            _status[account.account_id] = int(stock_code.split(':')[2])
            self._push('on_account_status', XtAccountStatus(
                account_type=account.account_type, account_id=account.account_id,
                status=_status[account.account_id]))
            return None
        if stock_code == 'hook:drop':
            self.connected = False
            self._push('on_disconnected')
            return None
        for p in self._positions(account):
            if p.stock_code == stock_code:
                return p
        return None

    def query_account_infos(self):
        return [XtAccountInfo(account_type=2, account_id=a, broker_type=2, platform_id=1,
                              account_classification=1, login_status=0) for a in ACCOUNTS]

    def query_account_status(self):
        return [XtAccountStatus(account_type=2, account_id=a, status=_status[a])
                for a in ACCOUNTS]
