//! bagpipe-smol
