//! bagpipe-smol
pub mod daemon;
pub mod decode;
