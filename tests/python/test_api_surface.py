"""The public surface of the xtquant modules against the vendor doc and the proto.

Checks, against the facts copied from the vendor's xttrader doc and xtconstant list into
vendor_facts.py, that every xtconstant name (with its documented value), every data
structure with every documented attribute, every XtQuantTrader call and every callback
the doc mentions exists in the `xtquant` drop-in, and that each Xt* class carries every
field of its protobuf message (so nothing the bridge sends is dropped on the floor).
"""

import inspect

import pytest

from vendor_facts import (CALLBACKS, DATA_STRUCTURES, DOC_TABLE_VALUES, TRADER_METHODS,
                          XTCONSTANT_MD_NAMES, XTCONSTANT_MD_VALUES, XTCONSTANT_NAMES)
from xtquant import xtconstant, xttrader, xttype


def test_every_xtconstant_in_doc_exists():
    names = set(XTCONSTANT_NAMES)
    assert len(names) > 90
    missing = sorted(n for n in names if not hasattr(xtconstant, n))
    assert missing == []


def test_doc_table_values():
    # "| xtconstant.ORDER_JUNK | 57 | 废单 |" rows: the values must match too.
    rows = DOC_TABLE_VALUES.items()
    assert len(rows) > 30
    wrong = [(n, v, getattr(xtconstant, n)) for n, v in rows if getattr(xtconstant, n) != v]
    assert wrong == []


def test_xtconstant_md_values():
    c = xtconstant
    expect = XTCONSTANT_MD_VALUES
    assert len(expect) == 113
    wrong = {n: getattr(c, n, None) for n, v in expect.items() if getattr(c, n, None) != v}
    assert wrong == {}
    for n in XTCONSTANT_MD_NAMES:
        if n.startswith(('CLOSE_', 'OPEN_', 'SELL_', 'BUY_', 'COVERED_', 'CALL_', 'PUT_',
                         'SECU_LOCK', 'SECU_UNLOCK', 'BUILD_', 'RELEASE_', 'FUTURE_OPTION',
                         'STOCK_OPTION', 'INCOME_SWAP', 'WAITING_', 'ASSIS_')):
            continue                     # abbreviated table entries ("..., CLOSE_LONG_TODAY")
        assert hasattr(c, n), n


def test_every_structure_and_attribute_in_doc_exists():
    structs = DATA_STRUCTURES
    assert len(structs) >= 17, structs.keys()
    for name, attrs in structs.items():
        cls = getattr(xttype, name)
        obj = cls()
        missing = [a for a in attrs if not hasattr(obj, a)]
        assert missing == [], (name, missing)


def test_xttype_classes_carry_every_proto_field(pb):
    for name in ('XtAsset', 'XtOrder', 'XtTrade', 'XtPosition', 'XtPositionStatistics',
                 'XtOrderResponse', 'XtCancelOrderResponse', 'XtOrderError', 'XtCancelError',
                 'XtCreditDetail', 'StkCompacts', 'CreditSubjects', 'CreditSloCode',
                 'CreditAssure', 'XtAccountStatus', 'XtAccountInfo', 'XtSmtAppointmentResponse'):
        proto_fields = [f.name for f in getattr(pb, name).DESCRIPTOR.fields]
        cls_fields = [n for n, _ in getattr(xttype, name)._fields]
        assert sorted(proto_fields) == sorted(cls_fields), name


def test_from_pb_copies_values(pb):
    o = xttype.XtOrder._from_pb(pb.XtOrder(order_id=7, price=10.5, stock_code='600000.SH',
                                           order_status=50))
    assert (o.order_id, o.price, o.stock_code, o.order_status, o.traded_volume) == (
        7, 10.5, '600000.SH', 50, 0)
    d = xttype.XtCreditDetail._from_pb(pb.XtCreditDetail(m_dBalance=3.25, m_nStatus=1))
    assert d.m_dBalance == 3.25 and d.m_nStatus == 1 and d.m_dTotalDebt == 0.0


def test_stock_account():
    a = xttype.StockAccount('1000000365')
    assert (a.account_id, a.account_type) == ('1000000365', 2)
    assert xttype.StockAccount('1208970161', 'CREDIT').account_type == 3
    assert xttype.StockAccount('1', 'FUTURE').account_type == 1
    assert xttype.StockAccount('1', 'HUGANGTONG').account_type == 7
    assert xttype.StockAccount('1', 'SHENGANGTONG').account_type == 11
    assert xttype.StockAccount('1', xtconstant.CREDIT_ACCOUNT).account_type == 3
    with pytest.raises(ValueError):
        xttype.StockAccount('1', 'NOPE')


def test_every_trader_call_in_doc_exists():
    trader_calls = set(TRADER_METHODS)
    assert {'order_stock', 'query_stock_asset', 'smt_query_compact', 'run_forever'} <= trader_calls
    missing = sorted(c for c in trader_calls if not callable(getattr(xttrader.XtQuantTrader, c, None)))
    assert missing == []
    callbacks = set(CALLBACKS)
    missing = sorted(c for c in callbacks if not hasattr(xttrader.XtQuantTraderCallback, c))
    assert missing == []
    for extra in ('on_connected', 'on_stock_asset', 'on_stock_position',
                  'on_cancel_order_stock_async_response'):
        assert hasattr(xttrader.XtQuantTraderCallback, extra)


def test_signatures_and_defaults():
    T = xttrader.XtQuantTrader
    sig = lambda f: list(inspect.signature(f).parameters.values())[1:]
    assert [p.name for p in sig(T.order_stock)] == [
        'account', 'stock_code', 'order_type', 'order_volume', 'price_type', 'price',
        'strategy_name', 'order_remark']
    assert inspect.signature(T.query_stock_orders).parameters['cancelable_only'].default is False
    p = inspect.signature(T.export_data).parameters
    assert p['start_time'].default is None and p['end_time'].default is None
    assert p['user_param'].default == {}
    p = inspect.signature(T.smt_negotiate_order_async).parameters
    assert list(p)[1:] == ['account', 'src_group_id', 'order_code', 'date', 'amount',
                           'apply_rate', 'dict_param']
    assert [q.name for q in sig(T.sync_transaction_from_external)] == [
        'operation', 'data_type', 'account', 'deal_list']
    assert [q.name for q in sig(T.fund_transfer)] == ['account', 'transfer_direction', 'price']
    assert [q.name for q in sig(T.cancel_order_stock_sysid)] == ['account', 'market', 'order_sysid']
    for name in ('query_stock_orders_async', 'query_stock_asset_async',
                 'query_stock_trades_async', 'query_stock_positions_async',
                 'query_credit_detail_async', 'query_account_status_async'):
        assert callable(getattr(T, name))


def test_endpoint_selection(monkeypatch):
    T = xttrader.XtQuantTrader
    assert T('tcp://10.0.0.5:7000', 1).endpoint == 'tcp://10.0.0.5:7000'
    assert T('ipc://xtbridge-req', 1).endpoint == 'ipc://xtbridge-req'
    monkeypatch.delenv('XTBRIDGE_ENDPOINT', raising=False)
    assert T('D:\\迅投极速交易终端 睿智融科版\\userdata_mini', 1).endpoint == 'tcp://127.0.0.1:58610'
    monkeypatch.setenv('XTBRIDGE_ENDPOINT', 'tcp://192.168.1.2:58610')
    assert T('userdata_mini', 1).endpoint == 'tcp://192.168.1.2:58610'
