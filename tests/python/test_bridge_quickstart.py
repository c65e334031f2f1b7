#coding=utf-8
"""The vendor doc's quick-start strategy, unchanged in shape, against the real bridge (sim).

Values are the README's worked example (the tour and "sim rules"): account
1000000365 with 1,000,000.00 cash, 600000.SH last 10.60. Prices are moved with the sim_*
admin calls, sent through the trader's own request helper (_bridge_call).
"""

import os
import signal
import time

import pytest

from xtquant import xtconstant
from xtquant.xttype import StockAccount, XtAsset, XtOrder, XtPosition, XtTrade

from conftest import raw_call, start_bridge, wait_post_subscribe_replays

ACC = StockAccount('1000000365')
CODE = '600000.SH'
cents = lambda v: pytest.approx(v, abs=1e-6)


def sim(trader, pb, name, body=None):
    rep = trader._bridge_call(name, body)
    assert rep is not None, name + ': no reply'
    assert rep.error.code == pb.OK, (name, rep.error.message)
    return rep


def set_price(trader, pb, last, code=CODE):
    sim(trader, pb, 'sim_set_price', pb.SimSetPriceRequest(stock_code=code, last_price=last,
                                                           pre_close=0, liquidity=-1))


def orders_of(rec, order_id):
    return [o for o in rec.of('on_stock_order') if o.order_id == order_id]


def wait_status(rec, order_id, status, timeout=5):
    return rec.wait_for(lambda ev: any(o.order_status == status for o in orders_of(rec, order_id)),
                        timeout)


def test_quickstart_worked_example(bridge, make_trader, pb):
    trader, rec = make_trader(bridge.router, timeout=5.0)
    assert trader.connect_result == 0
    assert trader.subscribe(ACC) == 0

    # --- a limit buy below the market rests, cash frozen ---------------------------------
    oid = trader.order_stock(ACC, CODE, xtconstant.STOCK_BUY, 1000, xtconstant.FIX_PRICE, 10.50,
                             'strategy_name', 'remark')
    assert oid > 0
    assert wait_status(rec, oid, xtconstant.ORDER_REPORTED)
    statuses = [o.order_status for o in orders_of(rec, oid)]
    assert statuses[:2] == [xtconstant.ORDER_UNREPORTED, xtconstant.ORDER_REPORTED]
    o = orders_of(rec, oid)[-1]
    assert isinstance(o, XtOrder)
    assert (o.account_id, o.account_type, o.stock_code, o.order_type, o.order_volume) == (
        '1000000365', xtconstant.SECURITY_ACCOUNT, CODE, xtconstant.STOCK_BUY, 1000)
    assert o.price == cents(10.50)
    assert (o.strategy_name, o.order_remark, o.traded_volume) == ('strategy_name', 'remark', 0)
    assert o.order_sysid and o.order_sysid != str(oid)

    asset = trader.query_stock_asset(ACC)
    assert isinstance(asset, XtAsset)
    assert asset.account_id == '1000000365'
    assert asset.cash == cents(989494.89)
    assert asset.frozen_cash == cents(10505.11)
    assert asset.market_value == cents(0)
    assert asset.total_asset == cents(1000000.00)

    order = trader.query_stock_order(ACC, oid)
    assert order.order_id == oid and order.order_status == xtconstant.ORDER_REPORTED
    assert [x.order_id for x in trader.query_stock_orders(ACC)] == [oid]
    assert [x.order_id for x in trader.query_stock_orders(ACC, True)] == [oid]
    assert trader.query_stock_trades(ACC) == []
    assert trader.query_stock_position(ACC, CODE) is None

    # --- the market drops through the limit: filled at the order's own price ------------
    set_price(trader, pb, 10.40)
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_trade')) == 1)
    t = rec.of('on_stock_trade')[0]
    assert isinstance(t, XtTrade)
    assert (t.order_id, t.stock_code, t.traded_volume) == (oid, CODE, 1000)
    assert t.traded_price == cents(10.50)
    assert t.traded_amount == cents(10500.00)
    assert t.commission == cents(5.11)
    assert t.order_sysid == o.order_sysid
    assert wait_status(rec, oid, xtconstant.ORDER_SUCCEEDED)
    # the freeze's asset push came earlier: wait for the fill's one too
    assert rec.wait_for(lambda ev: rec.of('on_stock_position') and len(rec.of('on_stock_asset')) >= 2)
    # the freeze at entry is an asset push; then one fill: trade, order 56, position, asset
    names = [n for n, x in rec.events if n in ('on_stock_trade', 'on_stock_position',
                                                'on_stock_asset')
             or (n == 'on_stock_order' and x.order_status == 56)]
    assert names[:5] == ['on_stock_asset', 'on_stock_trade', 'on_stock_order',
                         'on_stock_position', 'on_stock_asset']
    freeze = next(x for n, x in rec.events if n == 'on_stock_asset')
    assert (freeze.cash, freeze.frozen_cash) == (cents(989494.89), cents(10505.11))

    pos = trader.query_stock_position(ACC, CODE)
    assert isinstance(pos, XtPosition)
    assert (pos.volume, pos.can_use_volume, pos.yesterday_volume, pos.frozen_volume) == (
        1000, 0, 0, 0)
    assert pos.avg_price == cents(10.50511)
    assert pos.open_price == cents(10.50)
    assert pos.market_value == cents(10400.00)
    pushed = rec.of('on_stock_position')[-1]
    assert (pushed.volume, pushed.can_use_volume) == (1000, 0)
    asset = trader.query_stock_asset(ACC)
    assert asset.cash == cents(989494.89)
    assert asset.frozen_cash == cents(0)
    assert asset.market_value == cents(10400.00)
    assert asset.total_asset == cents(999894.89)
    assert rec.of('on_stock_asset')[-1].cash == cents(989494.89)
    assert [x.traded_id for x in trader.query_stock_trades(ACC)] == [t.traded_id]
    assert [(p.stock_code, p.volume) for p in trader.query_stock_positions(ACC)] == [(CODE, 1000)]

    # --- T+1: selling today's shares is a junk order with an order_error push -----------
    sid = trader.order_stock(ACC, CODE, xtconstant.STOCK_SELL, 1000, xtconstant.FIX_PRICE, 10.40,
                             'strategy_name', 'remark')
    assert sid > 0
    assert wait_status(rec, sid, xtconstant.ORDER_JUNK)
    junk = [x for x in orders_of(rec, sid) if x.order_status == 57][0]
    assert 'insufficient shares' in junk.status_msg
    assert rec.wait_for(lambda ev: [e for e in rec.of('on_order_error') if e.order_id == sid])
    err = [e for e in rec.of('on_order_error') if e.order_id == sid][0]
    assert err.error_id == -61 and 'insufficient shares' in err.error_msg

    # --- order_stock_async: response (seq, order_id) before that order's pushes ---------
    seq = trader.order_stock_async(ACC, CODE, xtconstant.STOCK_BUY, 200, xtconstant.FIX_PRICE,
                                   10.00, 'strategy_name', 'remark')
    assert seq > 0
    assert rec.wait_for(lambda ev: [r for r in rec.of('on_order_stock_async_response')
                                    if r.seq == seq])
    resp = [r for r in rec.of('on_order_stock_async_response') if r.seq == seq][0]
    aid = resp.order_id
    assert aid > 0 and resp.account_id == '1000000365'
    assert (resp.strategy_name, resp.order_remark) == ('strategy_name', 'remark')
    assert wait_status(rec, aid, xtconstant.ORDER_REPORTED)
    idx = [i for i, (n, x) in enumerate(rec.events)
           if (n == 'on_order_stock_async_response' and x.seq == seq)
           or (n == 'on_stock_order' and x.order_id == aid)]
    assert rec.events[idx[0]][0] == 'on_order_stock_async_response'
    asset = trader.query_stock_asset(ACC)
    # 200 x 10.00 = 2000.00 + commission 5.00 + transfer fee 0.02
    assert asset.frozen_cash == cents(2005.02)
    assert asset.cash == cents(989494.89 - 2005.02)

    # --- cancel it: 51 then 54, freeze released -------------------------------------------
    assert trader.cancel_order_stock(ACC, aid) == 0
    assert wait_status(rec, aid, xtconstant.ORDER_CANCELED)
    st = [x.order_status for x in orders_of(rec, aid)]
    assert st.index(xtconstant.ORDER_REPORTED_CANCEL) < st.index(xtconstant.ORDER_CANCELED)
    asset = trader.query_stock_asset(ACC)
    assert asset.cash == cents(989494.89) and asset.frozen_cash == cents(0)
    assert trader.query_stock_orders(ACC, True) == []

    # --- cancel of a finished order: -1 and a cancel_error push ---------------------------
    assert trader.cancel_order_stock(ACC, oid) == -1
    assert rec.wait_for(lambda ev: [e for e in rec.of('on_cancel_error') if e.order_id == oid])
    ce = [e for e in rec.of('on_cancel_error') if e.order_id == oid][0]
    assert ce.error_id == -63

    # --- async cancel of an unknown order: response (-1, seq) then cancel_error(seq) ------
    cseq = trader.cancel_order_stock_async(ACC, 987654321)
    assert cseq > 0
    assert rec.wait_for(lambda ev: [e for e in rec.of('on_cancel_error') if e.seq == cseq])
    cr = [r for r in rec.of('on_cancel_order_stock_async_response') if r.seq == cseq]
    assert cr and cr[0].cancel_result == -1
    names = [n for n, x in rec.events if getattr(x, 'seq', None) == cseq]
    assert names == ['on_cancel_order_stock_async_response', 'on_cancel_error']

    # --- next day: T+1 settles, the sell fills at last with stamp duty -------------------
    sim(trader, pb, 'sim_next_day', pb.SimNextDayRequest())
    pos = trader.query_stock_position(ACC, CODE)
    assert (pos.volume, pos.can_use_volume, pos.yesterday_volume) == (1000, 1000, 1000)
    assert trader.query_stock_orders(ACC) == []
    assert trader.query_stock_trades(ACC) == []
    before = len(rec.of('on_stock_trade'))
    sid2 = trader.order_stock(ACC, CODE, xtconstant.STOCK_SELL, 1000, xtconstant.FIX_PRICE, 10.40,
                              'strategy_name', 'remark')
    assert sid2 > 0
    assert rec.wait_for(lambda ev: len(rec.of('on_stock_trade')) == before + 1)
    t2 = rec.of('on_stock_trade')[-1]
    assert (t2.order_id, t2.traded_volume) == (sid2, 1000)
    assert t2.traded_price == cents(10.40)
    assert t2.traded_amount == cents(10400.00)
    assert t2.commission == cents(10.30)
    assert wait_status(rec, sid2, xtconstant.ORDER_SUCCEEDED)
    asset = trader.query_stock_asset(ACC)
    assert asset.cash == cents(999884.59)
    assert asset.frozen_cash == cents(0)
    pos = trader.query_stock_position(ACC, CODE)
    assert pos is None or pos.volume == 0

    # every callback ran on one thread
    assert len(rec.threads) == 1


def test_marketable_order_fills_at_last(bridge, make_trader, pb):
    trader, rec = make_trader(bridge.router, timeout=5.0)
    assert trader.subscribe(ACC) == 0
    oid = trader.order_stock(ACC, '000001.SZ', xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE,
                             11.50, '', '')
    assert oid > 0
    assert rec.wait_for(lambda ev: rec.of('on_stock_trade'))
    t = rec.of('on_stock_trade')[0]
    assert t.traded_price == cents(11.00) and t.traded_amount == cents(1100.00)
    assert t.commission == cents(5.01)           # 5.00 minimum + 0.011 -> 0.01 transfer fee


def test_account_status_push_and_query(bridge, make_trader, pb):
    trader, rec = make_trader(bridge.router, timeout=5.0)
    assert trader.subscribe(ACC) == 0
    sim(trader, pb, 'sim_set_account_status', pb.SimSetAccountStatusRequest(
        account=pb.Account(account_id='1000000365', account_type=2),
        status=xtconstant.ACCOUNT_STATUS_CLOSED))
    assert rec.wait_for(lambda ev: rec.of('on_account_status'))
    s = rec.of('on_account_status')[0]
    assert (s.account_id, s.account_type, s.status) == ('1000000365', 2, 6)
    statuses = trader.query_account_status()
    # the default sim also has the FUTURE account 1000000367 (type 1) and the CREDIT
    # account 1208970161 (type 3)
    assert [(x.account_id, x.status) for x in statuses] == [('1000000365', 6),
                                                           ('1000000367', 0),
                                                           ('1208970161', 0)]
    infos = trader.query_account_infos()
    assert [(x.account_id, x.account_type) for x in infos] == [('1000000365', 2),
                                                               ('1000000367', 1),
                                                               ('1208970161', 3)]


def test_rejections_and_unknown_account(bridge, make_trader, pb):
    trader, rec = make_trader(bridge.router, timeout=5.0)
    assert trader.subscribe(ACC) == 0
    # odd lot buy -> junk "lot"
    oid = trader.order_stock(ACC, CODE, xtconstant.STOCK_BUY, 150, xtconstant.FIX_PRICE, 10.5)
    assert oid > 0
    assert wait_status(rec, oid, xtconstant.ORDER_JUNK)
    # outside the limits (10.60 * 1.1 = 11.66)
    oid2 = trader.order_stock(ACC, CODE, xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE, 11.67)
    assert oid2 > 0
    assert wait_status(rec, oid2, xtconstant.ORDER_JUNK)
    assert 'outside price limits' in [o for o in orders_of(rec, oid2) if o.order_status == 57][0].status_msg
    # unknown account: -1
    assert trader.order_stock(StockAccount('42'), CODE, xtconstant.STOCK_BUY, 100,
                              xtconstant.FIX_PRICE, 10.5) == -1
    # bad argument (volume 0) is a bridge INVALID_ARGUMENT -> xtquant's -1
    assert trader.order_stock(ACC, CODE, xtconstant.STOCK_BUY, 0, xtconstant.FIX_PRICE, 10.5) == -1


def test_retried_order_is_not_duplicated(bridge, make_trader, pb):
    """The bridge's idempotency, as the client relies on it: the same request_id from the
    same routing id twice gives the original reply and one order."""
    trader, rec = make_trader(bridge.router, timeout=5.0)
    ch = trader._channel
    req = ch.build('order_stock', pb.OrderStockRequest(
        account=pb.Account(account_id='1000000365', account_type=2), stock_code=CODE,
        order_type=23, order_volume=100, price_type=11, price=10.0))
    r1 = ch.exchange(req)
    r2 = ch.exchange(req)
    assert r1.error.code == pb.OK and r2.error.code == pb.OK
    assert r1.order_stock.order_id > 0
    assert r2.order_stock.order_id == r1.order_stock.order_id
    assert [o.order_id for o in trader.query_stock_orders(ACC)] == [r1.order_stock.order_id]


def test_replay_fills_a_gap_from_the_real_journal(bridge, make_trader, pb):
    trader, rec = make_trader(bridge.router, timeout=5.0)
    assert trader.subscribe(ACC) == 0
    oid = trader.order_stock(ACC, CODE, xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE, 10.0)
    assert wait_status(rec, oid, xtconstant.ORDER_REPORTED)
    topic = 'order.1000000365.'
    # the journal has the same events the trader got
    rep = raw_call(bridge.router, pb, 'replay', pb.ReplayRequest(topic_prefix=topic))
    assert rep.error.code == pb.OK
    evs = [e for e in rep.replay.events]
    assert [e.seq for e in evs] == [1, 2]
    assert [e.order.order_status for e in evs] == [48, 50]
    # a second trader that "lost" seq 2: its next push (seq 3) triggers a replay of 2
    t2, rec2 = make_trader(bridge.router, timeout=5.0)
    assert t2.subscribe(ACC) == 0
    assert wait_post_subscribe_replays(t2)  # before "losing" seq 2, not racing it
    t2._dispatcher.post(lambda: t2._dispatcher.last_seq.__setitem__(topic, 1), wait=True)
    assert trader.cancel_order_stock(ACC, oid) == 0
    assert rec2.wait_for(lambda ev: any(o.order_status == 54 for o in rec2.of('on_stock_order')))
    assert [o.order_status for o in rec2.of('on_stock_order')] == [50, 51, 54]


def test_gap_replay_pages_through_the_real_journal(bridge, make_trader, pb):
    """max_events 2: the client pulls the gap page by page from the real bridge."""
    trader, rec = make_trader(bridge.router, timeout=5.0)
    t2, rec2 = make_trader(bridge.router, timeout=5.0)
    t2._replay_max_events = 2
    assert t2.subscribe(ACC) == 0
    assert wait_post_subscribe_replays(t2)
    ids = [trader.order_stock(ACC, CODE, xtconstant.STOCK_BUY, 100, xtconstant.FIX_PRICE, 10.0)
           for _ in range(3)]
    assert rec2.wait_for(lambda ev: len(rec2.of('on_stock_order')) == 6)
    topic = 'order.1000000365.'
    # t2 "lost" seqs 2..6; the cancel's pushes (seq 7: 51, seq 8: 54) are journaled in one
    # commit, so seq 7 shows the gap and the replay after 1 finds 7 events: 4 pages of 2
    t2._dispatcher.post(lambda: t2._dispatcher.last_seq.__setitem__(topic, 1), wait=True)
    before = raw_call(bridge.router, pb, 'stats').stats.calls['replay']
    assert trader.cancel_order_stock(ACC, ids[0]) == 0
    assert rec2.wait_for(lambda ev: len(rec2.of('on_stock_order')) == 13)
    replayed = [(o.order_id, o.order_status) for o in rec2.of('on_stock_order')[6:]]
    assert replayed == [(ids[0], 50), (ids[1], 48), (ids[1], 50), (ids[2], 48), (ids[2], 50),
                        (ids[0], 51), (ids[0], 54)]
    assert raw_call(bridge.router, pb, 'stats').stats.calls['replay'] - before == 4


def test_dead_bridge_returns_within_timeout(endpoints, tmp_path, make_trader, pb):
    b = start_bridge(endpoints[0], endpoints[1], tmp_path, pb, heartbeat_ms=200)
    try:
        trader, rec = make_trader(b.router, timeout=1.5, retry_interval=0.3)
        assert trader.connect_result == 0
        assert trader.subscribe(ACC) == 0
        assert b.terminate() == 0
        t0 = time.monotonic()
        assert trader.order_stock(ACC, CODE, 23, 100, 11, 10.0) == -1
        assert trader.query_stock_asset(ACC) is None
        assert time.monotonic() - t0 < 2 * 1.5 + 1.0
        assert rec.wait_for(lambda ev: rec.of('on_disconnected'), timeout=3)
    finally:
        b.terminate()


def test_credit_account_margin_buy_and_transfer(bridge, make_trader, pb):
    """The default CREDIT account through the drop-in client: a margin buy of 10,000.00 is
    a compact of 10,000.00, 10,000.00 less quota and 10,000.00 more debt; a transfer moves
    cash from the ordinary counter."""
    trader, rec = make_trader(bridge.router, timeout=5.0)
    credit = StockAccount('1208970161', 'CREDIT')
    assert trader.subscribe(credit) == 0
    set_price(trader, pb, 10.0)
    oid = trader.order_stock(credit, '600000.SH', xtconstant.CREDIT_FIN_BUY, 1000,
                             xtconstant.FIX_PRICE, 10.0)
    assert oid > 0
    compacts = trader.query_stk_compacts(credit)
    assert [(c.compact_type, c.business_vol, c.business_balance, c.instrument_id)
            for c in compacts] == [(0, 1000, 10000.0, '600000.SH')]
    d, = trader.query_credit_detail(credit)
    assert (d.m_dFinEnableQuota, d.m_dFinDebt) == (990000.0, 10000.0)
    assert d.m_dAvailable == cents(999994.9)
    assert trader.fund_transfer(credit, xtconstant.FUNDS_TRANSFER_NORMAL_TO_SPEED, 100.0) == (
        True, 'transferred 100.00 from the ordinary counter')
    assert trader.query_com_fund(credit)['currentBalance'] == 99900.0
    assert trader.query_stock_asset(credit).cash == cents(1000094.9)


def test_credit_smt_and_external_deals_through_the_client(bridge, make_trader):
    """The vendor doc's smt and sync examples, verbatim, on the CREDIT account: the
    appointment's answer reaches on_smt_appointment_async_response with the call's seq;
    a recorded deal appears in query_stock_trades; a bad operation gets the vendor's dict."""
    trader, rec = make_trader(bridge.router, timeout=5.0)
    credit = StockAccount('1208970161', 'CREDIT')
    assert trader.subscribe(credit) == 0
    seq = trader.smt_negotiate_order_async(credit, '', '000001.SZ', 7, 100, 0.2,
                                           {'subFareRate': 0.1, 'fineRate': 0.1})
    assert seq > 0
    assert rec.wait_for(lambda ev: rec.of('on_smt_appointment_async_response'))
    resp, = rec.of('on_smt_appointment_async_response')
    assert (resp.seq, resp.success, resp.apply_id) == (seq, True, 'SMT000001')
    compacts = trader.smt_query_compact(credit)
    assert [(c['applyId'], c['code'], c['compacAmount']) for c in compacts] == [
        ('SMT000001', '000001.SZ', 100.0)]
    deal_list = [{'m_strExchangeID': 'SH', 'm_strInstrumentID': '600000',
                  'm_strTradeID': '123456', 'm_strOrderSysID': '1234566',
                  'm_dPrice': 10.5, 'm_nVolume': 100, 'm_strTradeDate': '20240627'}]
    assert trader.sync_transaction_from_external('ADD', 'DEAL', credit, deal_list) == {
        'msg': 'sync transaction from external success'}
    assert [(t.stock_code, t.traded_id, t.traded_volume)
            for t in trader.query_stock_trades(credit)] == [('600000.SH', '123456', 100)]
    bad = trader.sync_transaction_from_external('ADDD', 'DEAL', credit, deal_list)
    assert 'invalid operation type: ADDD' in bad['error']['msg']
