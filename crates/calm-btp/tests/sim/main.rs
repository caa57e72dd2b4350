//! calm-btp against btp-sim: the "Done when" cases of issue 4 (token expiry, 401 → refresh, 429
//! in each `Retry-After` form, a connection reset during a create, pagination, a failed job, an
//! HTML 502 page, and 32 tasks against a 20 requests/s limit).

mod auth;
mod btp;
mod cf;
mod deletes;
mod garbage;
mod load;
mod logs;
mod roles;
mod support;
