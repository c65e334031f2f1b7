"""Stand-in xtquant.xttype: StockAccount and the Xt* structures (attribute names as the doc)."""


class StockAccount(object):
    def __init__(self, account_id, account_type=2):
        if isinstance(account_type, str):
            account_type = {'STOCK': 2, 'CREDIT': 3, 'FUTURE': 1}[account_type.upper()]
        self.account_id = str(account_id)
        self.account_type = int(account_type) or 2


class _Data(object):
    _fields = ()

    _strings = ('account_id', 'stock_code', 'order_sysid', 'status_msg', 'strategy_name',
                'order_remark', 'traded_id', 'error_msg')

    def __init__(self, **kw):
        for name in self._fields:
            setattr(self, name, kw.pop(name, '' if name in self._strings else 0))
        for name, value in kw.items():
            setattr(self, name, value)


class XtAsset(_Data):
    _fields = ('account_type', 'account_id', 'cash', 'frozen_cash', 'market_value', 'total_asset')


class XtOrder(_Data):
    _fields = ('account_type', 'account_id', 'stock_code', 'order_id', 'order_sysid',
               'order_time', 'order_type', 'order_volume', 'price_type', 'price',
               'traded_volume', 'traded_price', 'order_status', 'status_msg', 'strategy_name',
               'order_remark', 'direction', 'offset_flag')


class XtTrade(_Data):
    _fields = ('account_type', 'account_id', 'stock_code', 'order_type', 'traded_id',
               'traded_time', 'traded_price', 'traded_volume', 'traded_amount', 'order_id',
               'order_sysid', 'strategy_name', 'order_remark', 'direction', 'offset_flag')


class XtPosition(_Data):
    _fields = ('account_type', 'account_id', 'stock_code', 'volume', 'can_use_volume',
               'open_price', 'market_value', 'frozen_volume', 'on_road_volume',
               'yesterday_volume', 'avg_price', 'direction')


class XtOrderResponse(_Data):
    _fields = ('account_type', 'account_id', 'order_id', 'strategy_name', 'order_remark', 'seq',
               'error_msg')


class XtCancelOrderResponse(_Data):
    _fields = ('account_type', 'account_id', 'order_id', 'order_sysid', 'cancel_result', 'seq',
               'error_msg')


class XtOrderError(_Data):
    _fields = ('account_type', 'account_id', 'order_id', 'error_id', 'error_msg',
               'strategy_name', 'order_remark', 'seq')


class XtCancelError(_Data):
    _fields = ('account_type', 'account_id', 'order_id', 'market', 'order_sysid', 'error_id',
               'error_msg', 'seq')


class XtAccountStatus(_Data):
    _fields = ('account_type', 'account_id', 'status')


class XtAccountInfo(_Data):
    _fields = ('account_type', 'account_id', 'broker_type', 'platform_id',
               'account_classification', 'login_status')
