//! The async runtime, started only by commands that talk to the network.

use std::future::Future;

/// Runs a future to completion on a multi-threaded runtime.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(future),
        Err(e) => panic!("cannot start the async runtime: {e}"),
    }
}
