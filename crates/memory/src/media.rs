//! File types and image previews without any decoder: enough to run the
//! upload use cases in memory.

use async_trait::async_trait;
use missive_domain::ports::{ChunkSource, ImagePreviewer, Preview, TypeSniffer};
use missive_domain::upload::{ContentType, sniff_media_type};

/// Magic numbers of the formats [`BasicSniffer`] knows.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
];

/// [`TypeSniffer`] for a handful of formats, in the order of
/// `missive-infra`'s `MagicSniffer`, so it refuses what production
/// refuses: UTF-8 text is first looked at for markup, so HTML (even
/// behind a GIF header, a classic polyglot) is `text/html`, SVG is
/// `image/svg+xml` and other XML `application/xml`; then PNG, JPEG, GIF,
/// WebP, PDF, ZIP and gzip by their magic numbers; then other UTF-8 text
/// is `text/plain`; anything else is unknown. `MagicSniffer` knows far
/// more magic numbers.
#[derive(Debug, Default, Clone, Copy)]
pub struct BasicSniffer;

/// The format the magic number at the start of `head` names, if known.
fn magic(head: &[u8]) -> Option<&'static str> {
    if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(kind);
    }
    (head.len() >= 12 && head.starts_with(b"RIFF") && head[8..12] == *b"WEBP")
        .then_some("image/webp")
}

impl TypeSniffer for BasicSniffer {
    fn sniff(&self, head: &[u8]) -> Option<String> {
        sniff_media_type(head, |head| magic(head).map(str::to_owned))
    }
}

/// [`ImagePreviewer`] that reads no image: uploads are stored without
/// dimensions or thumbnail. (`missive-infra`'s `ImagePreviews` decodes
/// PNG, JPEG, GIF and WebP.)
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPreviews;

#[async_trait]
impl ImagePreviewer for NoPreviews {
    fn reads(&self, _content_type: &ContentType) -> bool {
        false
    }

    async fn preview(&self, _image: Box<dyn ChunkSource>, _size: u64) -> Option<Preview> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_bytes_and_markup_is_never_plain_text() {
        let sniff = |bytes: &[u8]| BasicSniffer.sniff(bytes);
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0").as_deref(),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").as_deref(),
            Some("image/webp")
        );
        assert_eq!(sniff(b"hello\n").as_deref(), Some("text/plain"));
        assert_eq!(sniff(b"  <HTML><body>").as_deref(), Some("text/html"));
        assert_eq!(sniff(b"<?xml?><svg>").as_deref(), Some("image/svg+xml"));
        assert_eq!(sniff("caf\u{e9}".as_bytes()).as_deref(), Some("text/plain"));
        assert_eq!(sniff(b"\x00\x01\x02\xff"), None);
        assert_eq!(
            sniff(b"GIF89a\x01\x00\x01\x00").as_deref(),
            Some("image/gif")
        );
        assert_eq!(sniff(b"%PDF-1.7\n").as_deref(), Some("application/pdf"));
    }

    #[test]
    fn markup_is_found_before_magic_numbers_as_in_production() {
        let sniff = |bytes: &[u8]| BasicSniffer.sniff(bytes);
        // A GIF/HTML polyglot: refused as HTML, not let through as an image.
        assert_eq!(
            sniff(b"GIF89a<script>alert(1)</script>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            sniff(b"\xef\xbb\xbf  <?xml version=\"1.0\"?><note/>").as_deref(),
            Some("application/xml")
        );
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg/>").as_deref(),
            Some("image/svg+xml")
        );
    }
}
