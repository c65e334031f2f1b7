"""The public surface of the xtquant modules against the vendor doc and the proto.

Reads shared/reference/xttrader-api.md (or the copy named by $XTB_API_DOC) and checks
that every xtconstant name, every data structure with every documented attribute, every
XtQuantTrader call and every callback the doc mentions exists in the `xtquant` drop-in,
and that each Xt* class carries every field of its protobuf message (so nothing the
bridge sends is dropped on the floor).
"""

import inspect
import os
import re

import pytest

from xtquant import xtconstant, xttrader, xttype

DOC = os.environ.get('XTB_API_DOC', '/work/shared/reference/xttrader-api.md')
CONST_MD = os.environ.get('XTB_CONST_DOC', '/work/shared/reference/xtconstant.md')


def _doc():
    if not os.path.exists(DOC):
        pytest.skip('vendor doc %s not present' % DOC)
    with open(DOC, encoding='utf-8') as f:
        return f.read().replace('\\_', '_')


def test_every_xtconstant_in_doc_exists():
    names = set(re.findall(r'xtconstant\.([A-Za-z_][A-Za-z0-9_]*)', _doc()))
    assert len(names) > 90
    missing = sorted(n for n in names if not hasattr(xtconstant, n))
    assert missing == []


def test_doc_table_values():
    # "| xtconstant.ORDER_JUNK | 57 | 废单 |" rows: the values must match too.
    rows = re.findall(r'\|\s*xtconstant\.([A-Za-z_0-9]+)\s*\|\s*(-?\d+)\s*\|', _doc())
    assert len(rows) > 30
    wrong = [(n, v, getattr(xtconstant, n)) for n, v in rows if getattr(xtconstant, n) != int(v)]
    assert wrong == []


def test_xtconstant_md_values():
    if not os.path.exists(CONST_MD):
        pytest.skip('xtconstant.md not present')
    c = xtconstant
    expect = {
        'FUTURE_ACCOUNT': 1, 'SECURITY_ACCOUNT': 2, 'CREDIT_ACCOUNT': 3,
        'FUTURE_OPTION_ACCOUNT': 5, 'STOCK_OPTION_ACCOUNT': 6, 'HUGANGTONG_ACCOUNT': 7,
        'INCOME_SWAP_ACCOUNT': 8, 'NEW3BOARD_ACCOUNT': 10, 'SHENGANGTONG_ACCOUNT': 11,
        'STOCK_BUY': 23, 'CREDIT_BUY': 23, 'STOCK_SELL': 24, 'CREDIT_SELL': 24,
        'CREDIT_FIN_BUY': 27, 'CREDIT_SLO_SELL': 28, 'CREDIT_BUY_SECU_REPAY': 29,
        'CREDIT_DIRECT_SECU_REPAY': 30, 'CREDIT_SELL_SECU_REPAY': 31,
        'CREDIT_DIRECT_CASH_REPAY': 32, 'CREDIT_FIN_BUY_SPECIAL': 40,
        'CREDIT_DIRECT_CASH_REPAY_SPECIAL': 45, 'FUTURE_OPEN_LONG': 0,
        'FUTURE_CLOSE_SHORT_TODAY': 5, 'FUTURE_CLOSE_LONG_TODAY_FIRST': 6,
        'FUTURE_CLOSE_SHORT_HISTORY_FIRST': 9,
        'FUTURE_CLOSE_LONG_TODAY_HISTORY_THEN_OPEN_SHORT': 10,
        'FUTURE_CLOSE_SHORT_HISTORY_TODAY_THEN_OPEN_LONG': 13, 'FUTURE_OPEN': 14,
        'FUTURE_CLOSE': 15, 'FUTURE_ARBITRAGE_OPEN': 16, 'FUTURE_ARBITRAGE_CLOSE_TODAY_FIRST': 18,
        'FUTURE_RENEW_LONG_CLOSE_HISTORY_FIRST': 19, 'FUTURE_RENEW_SHORT_CLOSE_TODAY_FIRST': 22,
        'STOCK_OPTION_BUY_OPEN': 48, 'STOCK_OPTION_SECU_UNLOCK': 57,
        'OPTION_FUTURE_OPTION_EXERCISE': 100, 'COMPOSE_OPEN_LONG': 110,
        'COMPOSE_FUTURE_ADJUST_HISTORY_FIRST': 119, 'ETF_PURCHASE': 134, 'ETF_REDEMPTION': 135,
        'COMPOSE_OPTION_COMB_EXERCISE': 137, 'COMPOSE_OPTION_BUILD_COMB_STRATEGY': 138,
        'COMPOSE_OPTION_RELEASE_COMB_STRATEGY': 139, 'FUTURE_HEDGE': 400,
        'LATEST_PRICE': 5, 'FIX_PRICE': 11, 'MARKET_BEST': 18, 'MARKET_CANCEL': 19,
        'MARKET_CANCEL_ALL': 20, 'MARKET_CANCEL_1': 21, 'MARKET_CANCEL_5': 22,
        'MARKET_CONVERT_1': 23, 'MARKET_CONVERT_5': 24, 'MARKET_SH_CONVERT_5_CANCEL': 42,
        'MARKET_SH_CONVERT_5_LIMIT': 43, 'MARKET_PEER_PRICE_FIRST': 44,
        'MARKET_MINE_PRICE_FIRST': 45, 'MARKET_SZ_INSTBUSI_RESTCANCEL': 46,
        'MARKET_SZ_CONVERT_5_CANCEL': 47, 'MARKET_SZ_FULL_OR_CANCEL': 48,
        'SH_MARKET': 0, 'SZ_MARKET': 1, 'MARKET_ENUM_INDEX_FUTURE': 2,
        'MARKET_ENUM_SHANGHAI_FUTURE': 3, 'MARKET_ENUM_DALIANG_FUTURE': 4,
        'MARKET_ENUM_ZHENGZHOU_FUTURE': 5, 'MARKET_ENUM_INTL_ENERGY_FUTURE': 6,
        'MARKET_ENUM_SHANGHAI_STOCK_OPTION': 7, 'MARKET_ENUM_SHENZHEN_STOCK_OPTION': 67,
        'MARKET_ENUM_BEIJING': 70, 'MARKET_ENUM_GUANGZHOU_FUTURE': 75,
        'ORDER_UNREPORTED': 48, 'ORDER_WAIT_REPORTING': 49, 'ORDER_REPORTED': 50,
        'ORDER_REPORTED_CANCEL': 51, 'ORDER_PARTSUCC_CANCEL': 52, 'ORDER_PART_CANCEL': 53,
        'ORDER_CANCELED': 54, 'ORDER_PART_SUCC': 55, 'ORDER_SUCCEEDED': 56, 'ORDER_JUNK': 57,
        'ORDER_UNKNOWN': 255, 'ACCOUNT_STATUS_INVALID': -1, 'ACCOUNT_STATUS_OK': 0,
        'ACCOUNT_STATUS_WAITING_LOGIN': 1, 'ACCOUNT_STATUSING': 2, 'ACCOUNT_STATUS_FAIL': 3,
        'ACCOUNT_STATUS_INITING': 4, 'ACCOUNT_STATUS_CORRECTING': 5, 'ACCOUNT_STATUS_CLOSED': 6,
        'ACCOUNT_STATUS_ASSIS_FAIL': 7, 'ACCOUNT_STATUS_DISABLEBYSYS': 8,
        'ACCOUNT_STATUS_DISABLEBYUSER': 9, 'FUNDS_TRANSFER_NORMAL_TO_SPEED': 510,
        'FUNDS_TRANSFER_SPEED_TO_NORMAL': 511, 'NODE_FUNDS_TRANSFER_SH_TO_SZ': 512,
        'NODE_FUNDS_TRANSFER_SZ_TO_SH': 513, 'SECU_TRANSFER_NORMAL_TO_SPEED': 520,
        'SECU_TRANSFER_SPEED_TO_NORMAL': 521, 'TRANS_TRANSFER_SHARE': 0,
        'TRANS_TRANSFER_SPECIAL_POSITIONS': 1, 'TRANS_TRANSFER_CREDIT_SHARE': 2,
        'DIRECTION_FLAG_LONG': 48, 'DIRECTION_FLAG_BUY': 48, 'DIRECTION_FLAG_SHORT': 49,
        'DIRECTION_FLAG_SELL': 49, 'OFFSET_FLAG_OPEN': 48, 'OFFSET_FLAG_CLOSE': 49,
        'OFFSET_FLAG_FORCECLOSE': 50, 'OFFSET_FLAG_CLOSETODAY': 51,
        'OFFSET_FLAG_ClOSEYESTERDAY': 52, 'OFFSET_FLAG_FORCEOFF': 53,
        'OFFSET_FLAG_LOCALFORCECLOSE': 54,
    }
    wrong = {n: getattr(c, n, None) for n, v in expect.items() if getattr(c, n, None) != v}
    assert wrong == {}
    with open(CONST_MD, encoding='utf-8') as f:
        md = f.read()
    for n in re.findall(r'\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])\b', md):
        if n.startswith(('CLOSE_', 'OPEN_', 'SELL_', 'BUY_', 'COVERED_', 'CALL_', 'PUT_',
                         'SECU_LOCK', 'SECU_UNLOCK', 'BUILD_', 'RELEASE_', 'FUTURE_OPTION',
                         'STOCK_OPTION', 'INCOME_SWAP', 'WAITING_', 'ASSIS_')):
            continue                     # abbreviated table entries ("..., CLOSE_LONG_TODAY")
        assert hasattr(c, n), n


def _structures(doc):
    """{class name: [attributes]} from the doc's '### [#] 中文名ClassName' tables."""
    out = {}
    for m in re.finditer(r'### \[#\] [^\n]*?([A-Za-z][A-Za-z]+)\n\n\| 属性 \|(.*?)\n\n', doc, re.S):
        attrs = re.findall(r'^\| ([A-Za-z_][A-Za-z0-9_]*) \|', m.group(2), re.M)
        out[m.group(1)] = attrs
    return out


def test_every_structure_and_attribute_in_doc_exists():
    structs = _structures(_doc())
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


def _doc_calls(doc):
    """Method names from the doc's signature blocks: '```\\nname(args)\\n'."""
    names = set(re.findall(r'```\n([a-z_]+)\(', doc))
    names.discard('xtquanttrader')
    return names


def test_every_trader_call_in_doc_exists():
    doc = _doc()
    calls = _doc_calls(doc)
    assert {'order_stock', 'query_stock_asset', 'smt_query_compact', 'run_forever'} <= calls
    trader_calls = {c for c in calls if not c.startswith('on_')}
    missing = sorted(c for c in trader_calls if not callable(getattr(xttrader.XtQuantTrader, c, None)))
    assert missing == []
    callbacks = {c for c in calls if c.startswith('on_')} | set(
        re.findall(r'def (on_[a-z_]+)\(', doc))
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
    assert T('ipc:///tmp/x', 1).endpoint == 'ipc:///tmp/x'
    monkeypatch.delenv('XTBRIDGE_ENDPOINT', raising=False)
    assert T('D:\\迅投极速交易终端 睿智融科版\\userdata_mini', 1).endpoint == 'tcp://127.0.0.1:58610'
    monkeypatch.setenv('XTBRIDGE_ENDPOINT', 'tcp://192.168.1.2:58610')
    assert T('/home/me/userdata_mini', 1).endpoint == 'tcp://192.168.1.2:58610'
