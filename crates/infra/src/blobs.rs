//! Blob storage adapters (the domain's `BlobStore`): the local file
//! system and S3-compatible object storage; and the type sniffer.

mod local;
mod preview;
mod s3;
mod sniff;

pub use local::LocalBlobStore;
pub use preview::{ImagePreviews, MAX_DECODE_BYTES, THUMBNAIL_SIDE};
pub use s3::{PART_BYTES, PARTS_IN_FLIGHT, S3BlobStore, S3Config};
pub use sniff::MagicSniffer;
