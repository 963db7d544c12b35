//! What the operator tools share (`bagpipe-looking-glass`, `bagpipe-rest-attach`,
//! `bagpipe-impex2dot`; reference §4.3): a blocking HTTP/1.0 client, the API port read from
//! `bgp.conf`, JSON with its key order kept, the looking-glass tree printer, the attach request
//! the tools build, and the Graphviz rendering of the import/export graph.
//!
//! The tools talk to the daemon's REST API over loopback or a management network, one request at
//! a time; nothing here needs an async runtime.

pub mod api_port;
pub mod attach_request;
pub mod http_client;
pub mod impex_graph;
pub mod lg_tree;
pub mod netns;
pub mod ordered_json;
