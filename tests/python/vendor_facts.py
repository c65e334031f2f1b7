# coding=utf-8
# Facts about the vendor's xtquant trading API, copied out of its documentation so that
# the Python suite runs on any clone: the documents are not part of this repository and
# no test reads them. Copied on 2026-11-30 from
#   - the vendor's xttrader doc (XtQuant.XtTrader API reference for MiniQMT, Markdown
#     copy "xttrader-api.md"), and
#   - the xtconstant list ("xtconstant.md": the numeric codes of xtquant.xtconstant,
#     gathered from that doc and from vendored copies of xtquant/xtconstant.py),
# by a one-off script applying the same regular expressions the tests used when they
# read the documents (in the xttrader doc, backslash-escaped underscores unescaped first).
# Edit only to re-copy from a newer edition of those documents.

# Every xtconstant.NAME the xttrader doc mentions (123 names).
XTCONSTANT_NAMES = (
    'ACCOUNT_STATUSING', 'ACCOUNT_STATUS_ASSIS_FAIL', 'ACCOUNT_STATUS_CLOSED',
    'ACCOUNT_STATUS_CORRECTING', 'ACCOUNT_STATUS_DISABLEBYSYS',
    'ACCOUNT_STATUS_DISABLEBYUSER', 'ACCOUNT_STATUS_FAIL', 'ACCOUNT_STATUS_INITING',
    'ACCOUNT_STATUS_INVALID', 'ACCOUNT_STATUS_OK', 'ACCOUNT_STATUS_WAITING_LOGIN',
    'CREDIT_ACCOUNT', 'CREDIT_BUY', 'CREDIT_BUY_SECU_REPAY',
    'CREDIT_BUY_SECU_REPAY_SPECIAL', 'CREDIT_DIRECT_CASH_REPAY',
    'CREDIT_DIRECT_CASH_REPAY_SPECIAL', 'CREDIT_DIRECT_SECU_REPAY',
    'CREDIT_DIRECT_SECU_REPAY_SPECIAL', 'CREDIT_FIN_BUY', 'CREDIT_FIN_BUY_SPECIAL',
    'CREDIT_SELL', 'CREDIT_SELL_SECU_REPAY', 'CREDIT_SELL_SECU_REPAY_SPECIAL',
    'CREDIT_SLO_SELL', 'CREDIT_SLO_SELL_SPECIAL', 'DIRECTION_FLAG_LONG',
    'DIRECTION_FLAG_SHORT', 'ETF_PURCHASE', 'ETF_REDEMPTION', 'FIX_PRICE',
    'FUNDS_TRANSFER_NORMAL_TO_SPEED', 'FUNDS_TRANSFER_SPEED_TO_NORMAL', 'FUTURE_ACCOUNT',
    'FUTURE_ARBITRAGE_CLOSE_HISTORY_FIRST', 'FUTURE_ARBITRAGE_CLOSE_TODAY_FIRST',
    'FUTURE_ARBITRAGE_OPEN', 'FUTURE_CLOSE', 'FUTURE_CLOSE_LONG_HISTORY',
    'FUTURE_CLOSE_LONG_HISTORY_FIRST', 'FUTURE_CLOSE_LONG_HISTORY_TODAY_THEN_OPEN_SHORT',
    'FUTURE_CLOSE_LONG_TODAY', 'FUTURE_CLOSE_LONG_TODAY_FIRST',
    'FUTURE_CLOSE_LONG_TODAY_HISTORY_THEN_OPEN_SHORT', 'FUTURE_CLOSE_SHORT_HISTORY',
    'FUTURE_CLOSE_SHORT_HISTORY_FIRST', 'FUTURE_CLOSE_SHORT_HISTORY_TODAY_THEN_OPEN_LONG',
    'FUTURE_CLOSE_SHORT_TODAY', 'FUTURE_CLOSE_SHORT_TODAY_FIRST',
    'FUTURE_CLOSE_SHORT_TODAY_HISTORY_THEN_OPEN_LONG', 'FUTURE_OPEN', 'FUTURE_OPEN_LONG',
    'FUTURE_OPEN_SHORT', 'FUTURE_OPTION_ACCOUNT', 'FUTURE_RENEW_LONG_CLOSE_HISTORY_FIRST',
    'FUTURE_RENEW_LONG_CLOSE_TODAY_FIRST', 'FUTURE_RENEW_SHORT_CLOSE_HISTORY_FIRST',
    'FUTURE_RENEW_SHORT_CLOSE_TODAY_FIRST', 'HUGANGTONG_ACCOUNT', 'LATEST_PRICE',
    'MARKET_BEST', 'MARKET_CANCEL', 'MARKET_CANCEL_1', 'MARKET_CANCEL_5',
    'MARKET_CANCEL_ALL', 'MARKET_CONVERT_1', 'MARKET_CONVERT_5', 'MARKET_ENUM_BEIJING',
    'MARKET_ENUM_DALIANG_FUTURE', 'MARKET_ENUM_GUANGZHOU_FUTURE',
    'MARKET_ENUM_INDEX_FUTURE', 'MARKET_ENUM_INTL_ENERGY_FUTURE',
    'MARKET_ENUM_SHANGHAI_FUTURE', 'MARKET_ENUM_SHANGHAI_HONGKONG_STOCK',
    'MARKET_ENUM_SHANGHAI_STOCK_OPTION', 'MARKET_ENUM_SHENZHEN_HONGKONG_STOCK',
    'MARKET_ENUM_SHENZHEN_STOCK_OPTION', 'MARKET_ENUM_ZHENGZHOU_FUTURE',
    'MARKET_MINE_PRICE_FIRST', 'MARKET_PEER_PRICE_FIRST', 'MARKET_SH_CONVERT_5_CANCEL',
    'MARKET_SH_CONVERT_5_LIMIT', 'MARKET_SZ_CONVERT_5_CANCEL', 'MARKET_SZ_FULL_OR_CANCEL',
    'MARKET_SZ_INSTBUSI_RESTCANCEL', 'NODE_FUNDS_TRANSFER_SH_TO_SZ',
    'NODE_FUNDS_TRANSFER_SZ_TO_SH', 'OFFSET_FLAG_CLOSE', 'OFFSET_FLAG_CLOSETODAY',
    'OFFSET_FLAG_ClOSEYESTERDAY', 'OFFSET_FLAG_FORCECLOSE', 'OFFSET_FLAG_FORCEOFF',
    'OFFSET_FLAG_LOCALFORCECLOSE', 'OFFSET_FLAG_OPEN', 'OPTION_FUTURE_OPTION_EXERCISE',
    'ORDER_CANCELED', 'ORDER_JUNK', 'ORDER_PARTSUCC_CANCEL', 'ORDER_PART_CANCEL',
    'ORDER_PART_SUCC', 'ORDER_REPORTED', 'ORDER_REPORTED_CANCEL', 'ORDER_SUCCEEDED',
    'ORDER_UNKNOWN', 'ORDER_UNREPORTED', 'ORDER_WAIT_REPORTING', 'SECURITY_ACCOUNT',
    'SHENGANGTONG_ACCOUNT', 'SH_MARKET', 'STOCK_BUY', 'STOCK_OPTION_ACCOUNT',
    'STOCK_OPTION_BUY_CLOSE', 'STOCK_OPTION_BUY_OPEN', 'STOCK_OPTION_CALL_EXERCISE',
    'STOCK_OPTION_COVERED_CLOSE', 'STOCK_OPTION_COVERED_OPEN', 'STOCK_OPTION_PUT_EXERCISE',
    'STOCK_OPTION_SECU_LOCK', 'STOCK_OPTION_SECU_UNLOCK', 'STOCK_OPTION_SELL_CLOSE',
    'STOCK_OPTION_SELL_OPEN', 'STOCK_SELL', 'SZ_MARKET',
)

# The xttrader doc's "| xtconstant.NAME | value | ... |" table rows, in its order.
DOC_TABLE_VALUES = {
    'ORDER_UNREPORTED': 48, 'ORDER_WAIT_REPORTING': 49, 'ORDER_REPORTED': 50,
    'ORDER_REPORTED_CANCEL': 51, 'ORDER_PARTSUCC_CANCEL': 52, 'ORDER_PART_CANCEL': 53,
    'ORDER_CANCELED': 54, 'ORDER_PART_SUCC': 55, 'ORDER_SUCCEEDED': 56, 'ORDER_JUNK': 57,
    'ORDER_UNKNOWN': 255, 'ACCOUNT_STATUS_OK': 0, 'ACCOUNT_STATUS_WAITING_LOGIN': 1,
    'ACCOUNT_STATUSING': 2, 'ACCOUNT_STATUS_FAIL': 3, 'ACCOUNT_STATUS_INITING': 4,
    'ACCOUNT_STATUS_CORRECTING': 5, 'ACCOUNT_STATUS_CLOSED': 6,
    'ACCOUNT_STATUS_ASSIS_FAIL': 7, 'ACCOUNT_STATUS_DISABLEBYSYS': 8,
    'ACCOUNT_STATUS_DISABLEBYUSER': 9, 'FUNDS_TRANSFER_NORMAL_TO_SPEED': 510,
    'FUNDS_TRANSFER_SPEED_TO_NORMAL': 511, 'NODE_FUNDS_TRANSFER_SH_TO_SZ': 512,
    'NODE_FUNDS_TRANSFER_SZ_TO_SH': 513, 'DIRECTION_FLAG_LONG': 48,
    'DIRECTION_FLAG_SHORT': 49, 'OFFSET_FLAG_OPEN': 48, 'OFFSET_FLAG_CLOSE': 49,
    'OFFSET_FLAG_FORCECLOSE': 50, 'OFFSET_FLAG_CLOSETODAY': 51,
    'OFFSET_FLAG_ClOSEYESTERDAY': 52, 'OFFSET_FLAG_FORCEOFF': 53,
    'OFFSET_FLAG_LOCALFORCECLOSE': 54,
}

# name -> value per the xtconstant list (the values test_xtconstant_md_values checks).
XTCONSTANT_MD_VALUES = {
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
    'FUTURE_CLOSE': 15, 'FUTURE_ARBITRAGE_OPEN': 16,
    'FUTURE_ARBITRAGE_CLOSE_TODAY_FIRST': 18, 'FUTURE_RENEW_LONG_CLOSE_HISTORY_FIRST': 19,
    'FUTURE_RENEW_SHORT_CLOSE_TODAY_FIRST': 22, 'STOCK_OPTION_BUY_OPEN': 48,
    'STOCK_OPTION_SECU_UNLOCK': 57, 'OPTION_FUTURE_OPTION_EXERCISE': 100,
    'COMPOSE_OPEN_LONG': 110, 'COMPOSE_FUTURE_ADJUST_HISTORY_FIRST': 119,
    'ETF_PURCHASE': 134, 'ETF_REDEMPTION': 135, 'COMPOSE_OPTION_COMB_EXERCISE': 137,
    'COMPOSE_OPTION_BUILD_COMB_STRATEGY': 138, 'COMPOSE_OPTION_RELEASE_COMB_STRATEGY': 139,
    'FUTURE_HEDGE': 400, 'LATEST_PRICE': 5, 'FIX_PRICE': 11, 'MARKET_BEST': 18,
    'MARKET_CANCEL': 19, 'MARKET_CANCEL_ALL': 20, 'MARKET_CANCEL_1': 21,
    'MARKET_CANCEL_5': 22, 'MARKET_CONVERT_1': 23, 'MARKET_CONVERT_5': 24,
    'MARKET_SH_CONVERT_5_CANCEL': 42, 'MARKET_SH_CONVERT_5_LIMIT': 43,
    'MARKET_PEER_PRICE_FIRST': 44, 'MARKET_MINE_PRICE_FIRST': 45,
    'MARKET_SZ_INSTBUSI_RESTCANCEL': 46, 'MARKET_SZ_CONVERT_5_CANCEL': 47,
    'MARKET_SZ_FULL_OR_CANCEL': 48, 'SH_MARKET': 0, 'SZ_MARKET': 1,
    'MARKET_ENUM_INDEX_FUTURE': 2, 'MARKET_ENUM_SHANGHAI_FUTURE': 3,
    'MARKET_ENUM_DALIANG_FUTURE': 4, 'MARKET_ENUM_ZHENGZHOU_FUTURE': 5,
    'MARKET_ENUM_INTL_ENERGY_FUTURE': 6, 'MARKET_ENUM_SHANGHAI_STOCK_OPTION': 7,
    'MARKET_ENUM_SHENZHEN_STOCK_OPTION': 67, 'MARKET_ENUM_BEIJING': 70,
    'MARKET_ENUM_GUANGZHOU_FUTURE': 75, 'ORDER_UNREPORTED': 48, 'ORDER_WAIT_REPORTING': 49,
    'ORDER_REPORTED': 50, 'ORDER_REPORTED_CANCEL': 51, 'ORDER_PARTSUCC_CANCEL': 52,
    'ORDER_PART_CANCEL': 53, 'ORDER_CANCELED': 54, 'ORDER_PART_SUCC': 55,
    'ORDER_SUCCEEDED': 56, 'ORDER_JUNK': 57, 'ORDER_UNKNOWN': 255,
    'ACCOUNT_STATUS_INVALID': -1, 'ACCOUNT_STATUS_OK': 0,
    'ACCOUNT_STATUS_WAITING_LOGIN': 1, 'ACCOUNT_STATUSING': 2, 'ACCOUNT_STATUS_FAIL': 3,
    'ACCOUNT_STATUS_INITING': 4, 'ACCOUNT_STATUS_CORRECTING': 5,
    'ACCOUNT_STATUS_CLOSED': 6, 'ACCOUNT_STATUS_ASSIS_FAIL': 7,
    'ACCOUNT_STATUS_DISABLEBYSYS': 8, 'ACCOUNT_STATUS_DISABLEBYUSER': 9,
    'FUNDS_TRANSFER_NORMAL_TO_SPEED': 510, 'FUNDS_TRANSFER_SPEED_TO_NORMAL': 511,
    'NODE_FUNDS_TRANSFER_SH_TO_SZ': 512, 'NODE_FUNDS_TRANSFER_SZ_TO_SH': 513,
    'SECU_TRANSFER_NORMAL_TO_SPEED': 520, 'SECU_TRANSFER_SPEED_TO_NORMAL': 521,
    'TRANS_TRANSFER_SHARE': 0, 'TRANS_TRANSFER_SPECIAL_POSITIONS': 1,
    'TRANS_TRANSFER_CREDIT_SHARE': 2, 'DIRECTION_FLAG_LONG': 48, 'DIRECTION_FLAG_BUY': 48,
    'DIRECTION_FLAG_SHORT': 49, 'DIRECTION_FLAG_SELL': 49, 'OFFSET_FLAG_OPEN': 48,
    'OFFSET_FLAG_CLOSE': 49, 'OFFSET_FLAG_FORCECLOSE': 50, 'OFFSET_FLAG_CLOSETODAY': 51,
    'OFFSET_FLAG_ClOSEYESTERDAY': 52, 'OFFSET_FLAG_FORCEOFF': 53,
    'OFFSET_FLAG_LOCALFORCECLOSE': 54,
}

# Every CONSTANT_LIKE_NAME in the xtconstant list, in its order. Includes abbreviated
# table entries ("FUTURE_OPEN_LONG, CLOSE_LONG_HISTORY, ...") that are not real names.
XTCONSTANT_MD_NAMES = (
    'STOCK_BUY', 'CREDIT_BUY', 'FUTURE_ACCOUNT', 'SECURITY_ACCOUNT', 'CREDIT_ACCOUNT',
    'FUTURE_OPTION_ACCOUNT', 'FUTURE_OPTION', 'STOCK_OPTION_ACCOUNT', 'STOCK_OPTION',
    'HUGANGTONG_ACCOUNT', 'INCOME_SWAP_ACCOUNT', 'INCOME_SWAP', 'NEW3BOARD_ACCOUNT',
    'SHENGANGTONG_ACCOUNT', 'STOCK_SELL', 'CREDIT_SELL', 'CREDIT_FIN_BUY',
    'CREDIT_SLO_SELL', 'CREDIT_BUY_SECU_REPAY', 'CREDIT_DIRECT_SECU_REPAY',
    'CREDIT_SELL_SECU_REPAY', 'CREDIT_DIRECT_CASH_REPAY', 'CREDIT_FIN_BUY_SPECIAL',
    'CREDIT_DIRECT_CASH_REPAY_SPECIAL', 'FUTURE_OPEN_LONG', 'CLOSE_LONG_HISTORY',
    'CLOSE_LONG_TODAY', 'OPEN_SHORT', 'CLOSE_SHORT_HISTORY', 'CLOSE_SHORT_TODAY',
    'FUTURE_CLOSE_LONG_TODAY_FIRST', 'CLOSE_LONG_HISTORY_FIRST', 'CLOSE_SHORT_TODAY_FIRST',
    'CLOSE_SHORT_HISTORY_FIRST', 'FUTURE_CLOSE_LONG_TODAY_HISTORY_THEN_OPEN_SHORT',
    'CLOSE_SHORT_TODAY_HISTORY_THEN_OPEN_LONG', 'FUTURE_OPEN', 'FUTURE_CLOSE',
    'FUTURE_ARBITRAGE_OPEN', 'FUTURE_RENEW_LONG_CLOSE_HISTORY_FIRST',
    'STOCK_OPTION_BUY_OPEN', 'SELL_CLOSE', 'SELL_OPEN', 'BUY_CLOSE', 'COVERED_OPEN',
    'COVERED_CLOSE', 'CALL_EXERCISE', 'PUT_EXERCISE', 'SECU_LOCK', 'SECU_UNLOCK',
    'OPTION_FUTURE_OPTION_EXERCISE', 'COMPOSE_OPEN_LONG',
    'COMPOSE_FUTURE_ADJUST_HISTORY_FIRST', 'ETF_PURCHASE', 'ETF_REDEMPTION',
    'COMPOSE_OPTION_COMB_EXERCISE', 'BUILD_COMB_STRATEGY', 'RELEASE_COMB_STRATEGY',
    'FUTURE_HEDGE', 'LATEST_PRICE', 'FIX_PRICE', 'MARKET_BEST', 'MARKET_CANCEL',
    'MARKET_CANCEL_ALL', 'MARKET_CANCEL_1', 'MARKET_CANCEL_5', 'MARKET_CONVERT_1',
    'MARKET_CONVERT_5', 'MARKET_SH_CONVERT_5_CANCEL', 'MARKET_SH_CONVERT_5_LIMIT',
    'MARKET_PEER_PRICE_FIRST', 'MARKET_MINE_PRICE_FIRST', 'MARKET_SZ_INSTBUSI_RESTCANCEL',
    'MARKET_SZ_CONVERT_5_CANCEL', 'MARKET_SZ_FULL_OR_CANCEL', 'BROKER_PRICE_ANY',
    'BROKER_PRICE_LIMIT', 'BROKER_PRICE_BEST', 'SH_MARKET', 'SZ_MARKET',
    'MARKET_ENUM_INDEX_FUTURE', 'MARKET_ENUM_SHANGHAI_FUTURE',
    'MARKET_ENUM_DALIANG_FUTURE', 'MARKET_ENUM_ZHENGZHOU_FUTURE',
    'MARKET_ENUM_INTL_ENERGY_FUTURE', 'MARKET_ENUM_SHANGHAI_STOCK_OPTION',
    'MARKET_ENUM_SHENZHEN_STOCK_OPTION', 'MARKET_ENUM_BEIJING',
    'MARKET_ENUM_GUANGZHOU_FUTURE', 'ORDER_UNREPORTED', 'ORDER_WAIT_REPORTING',
    'ORDER_REPORTED', 'ORDER_REPORTED_CANCEL', 'ORDER_PARTSUCC_CANCEL',
    'ORDER_PART_CANCEL', 'ORDER_CANCELED', 'ORDER_PART_SUCC', 'ORDER_SUCCEEDED',
    'ORDER_JUNK', 'ORDER_UNKNOWN', 'WAITING_LOGIN', 'ASSIS_FAIL',
    'FUNDS_TRANSFER_NORMAL_TO_SPEED', 'FUNDS_TRANSFER_SPEED_TO_NORMAL',
    'NODE_FUNDS_TRANSFER_SH_TO_SZ', 'NODE_FUNDS_TRANSFER_SZ_TO_SH',
    'SECU_TRANSFER_NORMAL_TO_SPEED', 'SECU_TRANSFER_SPEED_TO_NORMAL',
    'TRANS_TRANSFER_SHARE', 'TRANS_TRANSFER_SPECIAL_POSITIONS',
    'TRANS_TRANSFER_CREDIT_SHARE', 'DIRECTION_FLAG_LONG', 'DIRECTION_FLAG_BUY',
    'DIRECTION_FLAG_SHORT', 'DIRECTION_FLAG_SELL', 'OFFSET_FLAG_OPEN',
)

# The doc's data structures ("### [#] <中文名>ClassName" + "| 属性 |" table):
# class -> documented attributes, in the doc's order.
DATA_STRUCTURES = {
    'XtAsset': (
        'account_type', 'account_id', 'cash', 'frozen_cash', 'market_value', 'total_asset',
    ),
    'XtOrder': (
        'account_type', 'account_id', 'stock_code', 'order_id', 'order_sysid',
        'order_time', 'order_type', 'order_volume', 'price_type', 'price', 'traded_volume',
        'traded_price', 'order_status', 'status_msg', 'strategy_name', 'order_remark',
        'direction', 'offset_flag',
    ),
    'XtTrade': (
        'account_type', 'account_id', 'stock_code', 'order_type', 'traded_id',
        'traded_time', 'traded_price', 'traded_volume', 'traded_amount', 'order_id',
        'order_sysid', 'strategy_name', 'order_remark', 'direction', 'offset_flag',
    ),
    'XtPosition': (
        'account_type', 'account_id', 'stock_code', 'volume', 'can_use_volume',
        'open_price', 'market_value', 'frozen_volume', 'on_road_volume',
        'yesterday_volume', 'avg_price', 'direction',
    ),
    'XtPositionStatistics': (
        'account_id', 'exchange_id', 'exchange_name', 'product_id', 'instrument_id',
        'instrument_name', 'direction', 'hedge_flag', 'position', 'yesterday_position',
        'today_position', 'can_close_vol', 'position_cost', 'avg_price', 'position_profit',
        'float_profit', 'open_price', 'open_cost', 'used_margin', 'used_commission',
        'frozen_margin', 'frozen_commission', 'instrument_value', 'open_times',
        'open_volume', 'cancel_times', 'last_price', 'rise_ratio', 'product_name',
        'royalty', 'expire_date', 'assest_weight', 'increase_by_settlement',
        'margin_ratio', 'float_profit_divide_by_used_margin',
        'float_profit_divide_by_balance', 'today_profit_loss', 'yesterday_init_position',
        'frozen_royalty', 'today_close_profit_loss', 'close_profit', 'ft_product_name',
    ),
    'XtOrderResponse': (
        'account_type', 'account_id', 'order_id', 'strategy_name', 'order_remark', 'seq',
    ),
    'XtCancelOrderResponse': (
        'account_type', 'account_id', 'order_id', 'order_sysid', 'cancel_result', 'seq',
    ),
    'XtOrderError': (
        'account_type', 'account_id', 'order_id', 'error_id', 'error_msg', 'strategy_name',
        'order_remark',
    ),
    'XtCancelError': (
        'account_type', 'account_id', 'order_id', 'market', 'order_sysid', 'error_id',
        'error_msg',
    ),
    'XtCreditDetail': (
        'account_type', 'account_id', 'm_nStatus', 'm_nUpdateTime', 'm_nCalcConfig',
        'm_dFrozenCash', 'm_dBalance', 'm_dAvailable', 'm_dPositionProfit',
        'm_dMarketValue', 'm_dFetchBalance', 'm_dStockValue', 'm_dFundValue',
        'm_dTotalDebt', 'm_dEnableBailBalance', 'm_dPerAssurescaleValue', 'm_dAssureAsset',
        'm_dFinDebt', 'm_dFinDealAvl', 'm_dFinFee', 'm_dSloDebt', 'm_dSloMarketValue',
        'm_dSloFee', 'm_dOtherFare', 'm_dFinMaxQuota', 'm_dFinEnableQuota',
        'm_dFinUsedQuota', 'm_dSloMaxQuota', 'm_dSloEnableQuota', 'm_dSloUsedQuota',
        'm_dSloSellBalance', 'm_dUsedSloSellBalance', 'm_dSurplusSloSellBalance',
    ),
    'StkCompacts': (
        'account_type', 'account_id', 'compact_type', 'cashgroup_prop', 'exchange_id',
        'open_date', 'business_vol', 'real_compact_vol', 'ret_end_date',
        'business_balance', 'businessFare', 'real_compact_balance', 'real_compact_fare',
        'repaid_fare', 'repaid_balance', 'instrument_id', 'compact_id', 'position_str',
    ),
    'CreditSubjects': (
        'account_type', 'account_id', 'slo_status', 'fin_status', 'exchange_id',
        'slo_ratio', 'fin_ratio', 'instrument_id',
    ),
    'CreditSloCode': (
        'account_type', 'account_id', 'cashgroup_prop', 'exchange_id', 'enable_amount',
        'instrument_id',
    ),
    'CreditAssure': (
        'account_type', 'account_id', 'assure_status', 'exchange_id', 'assure_ratio',
        'instrument_id',
    ),
    'XtAccountStatus': (
        'account_type', 'account_id', 'status',
    ),
    'XtAccountInfo': (
        'account_type', 'account_id', 'broker_type', 'platform_id',
        'account_classification', 'login_status',
    ),
    'XtSmtAppointmentResponse': (
        'seq', 'success', 'msg', 'apply_id',
    ),
}

# XtQuantTrader calls with a signature block ("```\nname(...)") in the doc.
TRADER_METHODS = (
    'cancel_order_stock', 'cancel_order_stock_async', 'cancel_order_stock_sysid',
    'cancel_order_stock_sysid_async', 'connect', 'export_data', 'fund_transfer',
    'order_stock', 'order_stock_async', 'query_account_infos', 'query_account_status',
    'query_com_fund', 'query_com_position', 'query_credit_assure', 'query_credit_detail',
    'query_credit_slo_code', 'query_credit_subjects', 'query_data', 'query_ipo_data',
    'query_new_purchase_limit', 'query_position_statistics', 'query_stk_compacts',
    'query_stock_asset', 'query_stock_orders', 'query_stock_positions',
    'query_stock_trades', 'register_callback', 'run_forever',
    'set_relaxed_response_order_enabled', 'smt_negotiate_order_async', 'smt_query_compact',
    'smt_query_quoter', 'start', 'stop', 'subscribe', 'sync_transaction_from_external',
    'unsubscribe',
)

# XtQuantTraderCallback methods the doc names: signature blocks "on_...(" and the
# "def on_...(" methods of its examples.
CALLBACKS = (
    'on_account_status', 'on_cancel_error', 'on_disconnected', 'on_order_error',
    'on_order_stock_async_response', 'on_smt_appointment_async_response', 'on_stock_order',
    'on_stock_trade',
)

# The quick-start strategy of the doc's section "### [#] 创建策略" (快速入门), verbatim.
QUICKSTART_SCRIPT = r'''#coding=utf-8
from xtquant.xttrader import XtQuantTrader, XtQuantTraderCallback
from xtquant.xttype import StockAccount
from xtquant import xtconstant
class MyXtQuantTraderCallback(XtQuantTraderCallback):
    def on_disconnected(self):
        """
        连接断开
        :return:
        """
        print("connection lost")
    def on_stock_order(self, order):
        """
        委托回报推送
        :param order: XtOrder对象
        :return:
        """
        print("on order callback:")
        print(order.stock_code, order.order_status, order.order_sysid)
    def on_stock_trade(self, trade):
        """
        成交变动推送
        :param trade: XtTrade对象
        :return:
        """
        print("on trade callback")
        print(trade.account_id, trade.stock_code, trade.order_id)
    def on_order_error(self, order_error):
        """
        委托失败推送
        :param order_error:XtOrderError 对象
        :return:
        """
        print("on order_error callback")
        print(order_error.order_id, order_error.error_id, order_error.error_msg)
    def on_cancel_error(self, cancel_error):
        """
        撤单失败推送
        :param cancel_error: XtCancelError 对象
        :return:
        """
        print("on cancel_error callback")
        print(cancel_error.order_id, cancel_error.error_id, cancel_error.error_msg)
    def on_order_stock_async_response(self, response):
        """
        异步下单回报推送
        :param response: XtOrderResponse 对象
        :return:
        """
        print("on_order_stock_async_response")
        print(response.account_id, response.order_id, response.seq)
    def on_account_status(self, status):
        """
        :param response: XtAccountStatus 对象
        :return:
        """
        print("on_account_status")
        print(status.account_id, status.account_type, status.status)
if __name__ == "__main__":
    print("demo test")
    # path为mini qmt客户端安装目录下userdata_mini路径
    path = 'D:\\迅投极速交易终端 睿智融科版\\userdata_mini'
    # session_id为会话编号，策略使用方对于不同的Python策略需要使用不同的会话编号
    session_id = 123456
    xt_trader = XtQuantTrader(path, session_id)
    # 创建资金账号为1000000365的证券账号对象
    acc = StockAccount('1000000365')
    # StockAccount可以用第二个参数指定账号类型，如沪港通传'HUGANGTONG'，深港通传'SHENGANGTONG'
    # acc = StockAccount('1000000365','STOCK')
    # 创建交易回调类对象，并声明接收回调
    callback = MyXtQuantTraderCallback()
    xt_trader.register_callback(callback)
    # 启动交易线程
    xt_trader.start()
    # 建立交易连接，返回0表示连接成功
    connect_result = xt_trader.connect()
    print(connect_result)
    # 对交易回调进行订阅，订阅后可以收到交易主推，返回0表示订阅成功
    subscribe_result = xt_trader.subscribe(acc)
    print(subscribe_result)
    stock_code = '600000.SH'
    # 使用指定价下单，接口返回订单编号，后续可以用于撤单操作以及查询委托状态
    print("order using the fix price:")
    fix_result_order_id = xt_trader.order_stock(acc, stock_code, xtconstant.STOCK_BUY, 200, xtconstant.FIX_PRICE, 10.5, 'strategy_name', 'remark')
    print(fix_result_order_id)
    # 使用订单编号撤单
    print("cancel order:")
    cancel_order_result = xt_trader.cancel_order_stock(acc, fix_result_order_id)
    print(cancel_order_result)
    # 使用异步下单接口，接口返回下单请求序号seq，seq可以和on_order_stock_async_response的委托反馈response对应起来
    print("order using async api:")
    async_seq = xt_trader.order_stock_async(acc, stock_code, xtconstant.STOCK_BUY, 200, xtconstant.FIX_PRICE, 10.5, 'strategy_name', 'remark')
    print(async_seq)
    # 查询证券资产
    print("query asset:")
    asset = xt_trader.query_stock_asset(acc)
    if asset:
        print("asset:")
        print("cash {0}".format(asset.cash))
    # 根据订单编号查询委托
    print("query order:")
    order = xt_trader.query_stock_order(acc, fix_result_order_id)
    if order:
        print("order:")
        print("order {0}".format(order.order_id))
    # 查询当日所有的委托
    print("query orders:")
    orders = xt_trader.query_stock_orders(acc)
    print("orders:", len(orders))
    if len(orders) != 0:
        print("last order:")
        print("{0} {1} {2}".format(orders[-1].stock_code, orders[-1].order_volume, orders[-1].price))
    # 查询当日所有的成交
    print("query trade:")
    trades = xt_trader.query_stock_trades(acc)
    print("trades:", len(trades))
    if len(trades) != 0:
        print("last trade:")
        print("{0} {1} {2}".format(trades[-1].stock_code, trades[-1].traded_volume, trades[-1].traded_price))
    # 查询当日所有的持仓
    print("query positions:")
    positions = xt_trader.query_stock_positions(acc)
    print("positions:", len(positions))
    if len(positions) != 0:
        print("last position:")
        print("{0} {1} {2}".format(positions[-1].account_id, positions[-1].stock_code, positions[-1].volume))
    # 根据股票代码查询对应持仓
    print("query position:")
    position = xt_trader.query_stock_position(acc, stock_code)
    if position:
        print("position:")
        print("{0} {1} {2}".format(position.account_id, position.stock_code, position.volume))
    # 阻塞线程，接收交易推送
    xt_trader.run_forever()

'''
