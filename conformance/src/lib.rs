//! bagpipe-conformance
