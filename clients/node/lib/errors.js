// The error a failed call rejects with: the bridge's verdict (its ErrorCode by name and
// number, and its message) or the client's own (no reply within the timeout, closed).

export class XtBridgeError extends Error {
  /**
   * @param {string} code      ErrorCode name ('INVALID_ARGUMENT', 'FORBIDDEN', ...), or the
   *                           client's own: 'NO_REPLY' (nothing within the timeout),
   *                           'NOT_CONNECTED_CLIENT' (connect() not done or closed),
   *                           'BAD_REPLY' (a reply for another call)
   * @param {number|null} errorCode  the bridge's numeric ErrorCode; null for the client's own
   * @param {string} message   the bridge's text (or ours), prefixed by the call's name
   */
  constructor(code, errorCode, message, { call, requestId } = {}) {
    super(`${call ? call + ': ' : ''}${code}${message ? ': ' + message : ''}`);
    this.name = 'XtBridgeError';
    this.code = code;
    this.errorCode = errorCode;
    this.bridgeMessage = message;
    this.call = call;
    this.requestId = requestId;
  }
}
