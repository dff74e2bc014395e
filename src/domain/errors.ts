/** Stable error codes of the HTTP API; the precise internal reason goes to the log only. */
export const ERRORS = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  INVALID_ENVELOPE: { status: 400, message: 'The body is not a notification of this provider.' },
  MISSING_FIELD: { status: 400, message: 'The notification lacks its order reference or its state.' },
  INVALID_FIELD: { status: 400, message: 'A field of the notification has a type or characters it may not have.' },
  INVALID_PARAMETER: { status: 400, message: 'A query parameter is invalid.' },
  SIGNATURE_MISSING: { status: 401, message: 'The notification carries no signature.' },
  SIGNATURE_UNDECODABLE: { status: 401, message: 'The signature is not base64.' },
  SIGNATURE_INVALID: { status: 401, message: 'The signature does not match.' },
  PROVIDER_NOT_CONFIGURED: { status: 401, message: 'This provider is not configured on this service.' },
  UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required.' },
  SIGN_IN_FAILED: { status: 401, message: 'The sign-in could not be verified; start it again from the console.' },
  FORBIDDEN_SCOPE: { status: 403, message: 'This token may only read: the action needs scope operate.' },
  SIGN_IN_REFUSED: { status: 403, message: 'This address is not allowed to use the console.' },
  MERCHANT_MISMATCH: { status: 403, message: 'The notification is for another merchant.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  ALREADY_DELIVERED: { status: 409, message: 'The delivery has already been delivered.' },
  NOT_QUERYABLE: { status: 409, message: 'Orders of this kind cannot be queried at their provider.' },
  DESTINATION_REMOVED: { status: 409, message: "The delivery's destination is no longer configured." },
  CURRENCY_MISMATCH: { status: 409, message: 'The order exists in another currency.' },
  BODY_TOO_LARGE: { status: 413, message: 'The body exceeds the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
  SSO_UNAVAILABLE: { status: 502, message: 'The single sign-on provider could not be reached; try again later.' },
  PROVIDER_UNAVAILABLE: { status: 502, message: 'The provider could not be asked, or its answer could not be trusted; try again later.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable; retry later.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    /** Internal detail for the log, never sent to the client. */
    readonly detail?: string,
    /** Public message overriding the catalogue's. */
    readonly publicMessage?: string,
  ) {
    super(detail ?? ERRORS[code].message);
    this.statusCode = ERRORS[code].status;
  }
}
