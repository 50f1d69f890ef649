//! Blob storage adapters (the domain's `BlobStore`) and the type sniffer.

mod local;
mod sniff;

pub use local::LocalBlobStore;
pub use sniff::MagicSniffer;
