// xtbridge for Node: see README.md and lib/trader.js.
export { Trader, ACCOUNT_KINDS, PUSH_EVENTS, DEFAULT_ENDPOINT, pubEndpointFor, readCertFile,
  toAccount, camelName } from './trader.js';
export { XtBridgeError } from './errors.js';
export { loadProto, protoFile } from './proto.js';
