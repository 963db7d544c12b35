//! bagpipe-sync
