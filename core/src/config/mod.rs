//! Configuration of the core: what the speaker is and whom it peers with. Parsing of the
//! daemon's files (native TOML, BaGPipe-BGP's `bgp.conf`) lives in submodules and produces these.

pub mod speaker;

pub use speaker::{PeerConfig, SpeakerConfig};
