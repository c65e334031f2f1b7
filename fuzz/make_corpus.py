#!/usr/bin/python3
"""make_corpus.py - writes fuzz/corpus/: one valid packed xtbridge.Request per file, a seed
for every call the sim serves (orders, cancels, queries, replay, subscribe, sim_*) plus a
few that the bridge must refuse (GBK strategy name, over the risk limit, no body) and
the risk kill switch.

The seeds are committed; run this again after changing proto/xtbridge.proto:
    /usr/bin/python3 fuzz/make_corpus.py BUILD_DIR     (BUILD_DIR/python/xtbridge_pb2.py)
"""
import hashlib
import os
import sys

build = sys.argv[1] if len(sys.argv) > 1 else 'build'
sys.path.insert(0, os.path.join(build, 'python'))
import xtbridge_pb2 as pb  # noqa: E402

ACC = '1000000365'
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
os.makedirs(out, exist_ok=True)
for name in os.listdir(out):
    os.remove(os.path.join(out, name))

seeds = []


def seed(name, **body):
    req = pb.Request(request_id='seed-%d' % len(seeds), **body)
    seeds.append((name, req.SerializeToString()))


def account(acc=ACC, t=2):
    return pb.Account(account_id=acc, account_type=t)


def order(code='600000.SH', otype=23, vol=1000, ptype=11, price=10.5, strat='strat',
          remark='remark', acc=ACC):
    return pb.OrderStockRequest(account=account(acc), stock_code=code, order_type=otype,
                                order_volume=vol, price_type=ptype, price=price,
                                strategy_name=strat, order_remark=remark)


seed('hello', hello=pb.HelloRequest(client_name='fuzz', client_version='1'))
seed('ping', ping=pb.PingRequest(client_time_ns=123456789))
seed('stats', stats=pb.StatsRequest())
seed('replay_all', replay=pb.ReplayRequest(topic_prefix='', max_events=10))
seed('replay_after', replay=pb.ReplayRequest(
    topic_prefix='order.' + ACC + '.', after={'order.' + ACC + '.': 1, 'trade.' + ACC + '.': 2},
    max_events=1))
seed('subscribe', subscribe=pb.AccountRequest(account=account()))
seed('unsubscribe', unsubscribe=pb.AccountRequest(account=account()))
seed('order_buy', order_stock=order())
seed('order_buy_utf8', order_stock=order(strat='策略', remark='备注'))
seed('order_sell', order_stock=order(otype=24, vol=500, price=10.4))
seed('order_latest', order_stock=order(ptype=5, price=0, code='000001.SZ', vol=200))
seed('order_bj', order_stock=order(code='430047.BJ', vol=100, price=5))
seed('order_async', order_stock_async=order(vol=300, price=10.6))
seed('order_bad_volume', order_stock=order(vol=-5))
seed('order_gbk_strategy', order_stock=order(strat='@@@@'))
# protobuf in Python cannot hold invalid UTF-8: swap the GBK bytes of 策略 in, same length
seeds[-1] = (seeds[-1][0], seeds[-1][1].replace(b'@@@@', '策略'.encode('gbk')))
seed('cancel', cancel_order_stock=pb.CancelOrderStockRequest(account=account(), order_id=1))
seed('cancel_async', cancel_order_stock_async=pb.CancelOrderStockRequest(account=account(),
                                                                          order_id=2))
seed('cancel_sysid', cancel_order_stock_sysid=pb.CancelOrderStockSysidRequest(
    account=account(), market=0, order_sysid='1'))
seed('cancel_sysid_async', cancel_order_stock_sysid_async=pb.CancelOrderStockSysidRequest(
    account=account(), market=1, order_sysid='2'))
seed('fund_transfer', fund_transfer=pb.FundTransferRequest(account=account(),
                                                           transfer_direction=510, price=100))
seed('sync_transaction', sync_transaction_from_external=pb.SyncTransactionFromExternalRequest(
    operation='ADD', data_type='DEAL', account=account(),
    deal_list_json=['{"m_strExchangeID":"SH","m_strInstrumentID":"600000"}']))
seed('set_relaxed', set_relaxed_response_order_enabled=pb.SetRelaxedResponseOrderEnabledRequest(
    enabled=True))
for call in ('query_stock_asset', 'query_stock_trades', 'query_stock_positions',
             'query_position_statistics', 'query_credit_detail', 'query_stk_compacts',
             'query_credit_subjects', 'query_credit_slo_code', 'query_credit_assure',
             'query_new_purchase_limit', 'query_com_fund', 'query_com_position',
             'smt_query_quoter', 'smt_query_compact'):
    seed(call, **{call: pb.AccountRequest(account=account())})
for call in ('query_ipo_data', 'query_account_infos', 'query_account_status'):
    seed(call, **{call: pb.NoArgsRequest()})
seed('query_order', query_stock_order=pb.QueryStockOrderRequest(account=account(), order_id=1))
seed('query_orders', query_stock_orders=pb.QueryStockOrdersRequest(account=account(),
                                                                    cancelable_only=True))
seed('query_position', query_stock_position=pb.QueryStockPositionRequest(account=account(),
                                                                          stock_code='600000.SH'))
seed('export_data', export_data=pb.ExportDataRequest(
    account=account(), result_path='x.csv', data_type='deal', start_time='20240101',
    end_time='20240102', user_param_json='{}'))
seed('query_data', query_data=pb.ExportDataRequest(account=account(), data_type='deal'))
seed('smt_negotiate', smt_negotiate_order_async=pb.SmtNegotiateOrderAsyncRequest(
    account=account(), src_group_id='g', order_code='600000.SH', date=20240101, amount=100,
    apply_rate=0.05, dict_param_json='{"subFareRate":0.1,"fineRate":0.2}'))
seed('sim_set_price', sim_set_price=pb.SimSetPriceRequest(stock_code='600000.SH', last_price=10.4,
                                                          pre_close=10.0, liquidity=500))
seed('sim_set_price_new', sim_set_price=pb.SimSetPriceRequest(stock_code='688001.SH',
                                                              last_price=50))
seed('sim_tick', sim_tick=pb.SimTickRequest(stock_code='600000.SH', last_price=10.7))
seed('sim_tick_all', sim_tick=pb.SimTickRequest())
seed('sim_next_day', sim_next_day=pb.SimNextDayRequest())
seed('sim_account_status', sim_set_account_status=pb.SimSetAccountStatusRequest(
    account=account(), status=1))
seed('sim_session_down', sim_set_session=pb.SimSetSessionRequest(connected=False))
seed('sim_session_up', sim_set_session=pb.SimSetSessionRequest(connected=True))
seed('risk_kill_switch_on', risk_kill_switch=pb.RiskKillSwitchRequest(
    account=account(), engaged=True, cancel_open=True))
seed('risk_kill_switch_off', risk_kill_switch=pb.RiskKillSwitchRequest(engaged=False))
seed('order_over_risk_volume', order_stock=order(vol=200000, price=1.0))
seed('no_body', )

# The CREDIT account (type 3): credit order types, credit queries, smt, transfers.
CREDIT = '1208970161'
for otype, vol, price in ((27, 1000, 10.6), (28, 500, 10.6), (29, 100, 10.6), (30, 100, 10.6),
                          (31, 100, 10.6), (32, 1, 100.0), (40, 100, 10.0), (45, 1, 1.0)):
    req = order(otype=otype, vol=vol, price=price, acc=CREDIT)
    req.account.account_type = 3
    seed('credit_order_%d' % otype, order_stock=req)
for call in ('query_credit_detail', 'query_stk_compacts', 'query_credit_subjects',
             'query_credit_slo_code', 'query_credit_assure', 'smt_query_quoter',
             'smt_query_compact', 'query_com_fund', 'query_com_position', 'query_stock_trades'):
    seed('credit_' + call, **{call: pb.AccountRequest(account=account(CREDIT, 3))})
seed('credit_smt_negotiate', smt_negotiate_order_async=pb.SmtNegotiateOrderAsyncRequest(
    account=account(CREDIT, 3), src_group_id='', order_code='000001.SZ', date=7, amount=100,
    apply_rate=0.2, dict_param_json='{"subFareRate":0.1,"fineRate":0.1}'))
seed('credit_fund_transfer', fund_transfer=pb.FundTransferRequest(account=account(CREDIT, 3),
                                                                  transfer_direction=512,
                                                                  price=100))
seed('credit_sync_deal', sync_transaction_from_external=pb.SyncTransactionFromExternalRequest(
    operation='ADD', data_type='DEAL', account=account(CREDIT, 3),
    deal_list_json=['{"m_strInstrumentID":"600000.SH","m_strTradeID":"1","m_dPrice":10.5,'
                    '"m_nVolume":100,"m_strOrderSysID":"\\u4e2d"}']))

for name, data in seeds:
    with open(os.path.join(out, '%s-%s' % (name, hashlib.sha1(data).hexdigest()[:8])), 'wb') as f:
        f.write(data)
print('%d seeds in %s' % (len(seeds), out))
