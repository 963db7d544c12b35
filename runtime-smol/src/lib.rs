//! bagpipe-smol
pub mod cli;
pub mod daemon;
pub mod decode;
