//! The HTTP transport of BaGPipe-BGP's REST API (reference-bagpipe-bgp.md §3), shared by both
//! runtimes: sockets, threads, HTTP/1.x parsing, routing and error statuses here; every answer
//! that needs protocol state comes from the engine.
//!
//! # How a runtime drives it
//!
//! ```text
//! let waker = Waker::new()?;                      // sync runtime; smol passes its own closure
//! let server = ApiServer::start(bind, ping_value(), waker.notifier())?;
//! loop {
//!     poll(.., waker.as_fd(), ..);               // among the loop's other descriptors
//!     waker.drain();
//!     while let Some(PendingRequest { call, reply }) = server.poll_request() {
//!         let answer: ApiReply = engine.handle_api(call);
//!         reply.send(answer);                     // or keep `reply` and answer later
//!     }
//! }
//! ```
//!
//! The invariants:
//! - The server answers `GET /`, `/ping`, `GET` on the attach/detach URLs, wrong methods,
//!   unknown paths, unreadable requests and request bodies that fail [`parse_attach`] /
//!   [`parse_detach`] itself, without the engine.
//! - Every other request becomes one [`PendingRequest`], queued, followed by one call of the
//!   waker. The engine answers each with [`ReplyHandle::send`], on any thread, at any later
//!   time within [`Limits::engine_timeout`].
//! - Every client gets exactly one answer: the engine's, or 503 when it does not answer in time
//!   or is not running, or 500 "Server error" when it drops the [`ReplyHandle`] unanswered.
//!
//! [`parse_attach`]: bagpipe_core::api::parse_attach
//! [`parse_detach`]: bagpipe_core::api::parse_detach

mod call;
mod ping;
mod request;
mod response;
mod route;
mod server;
mod waker;

pub use call::{ApiCall, ApiReply, PendingRequest, ReplyBody, ReplyHandle};
pub use ping::{ping_value, PING_MAX};
pub use server::{ApiServer, Limits};
pub use waker::Waker;
