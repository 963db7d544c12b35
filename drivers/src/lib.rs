//! bagpipe-drivers
