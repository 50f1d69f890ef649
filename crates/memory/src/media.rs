//! File types and image previews without any decoder: enough to run the
//! upload use cases in memory.

use async_trait::async_trait;
use missive_domain::ports::{ChunkSource, ImagePreviewer, Preview, TypeSniffer};
use missive_domain::upload::ContentType;

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

/// [`TypeSniffer`] for a handful of formats: PNG, JPEG, GIF, WebP, PDF,
/// ZIP and gzip by their magic numbers; UTF-8 text as `text/html` or
/// `image/svg+xml` when it holds markup (never mistaken for harmless
/// text), else `text/plain`; anything else unknown. `missive-infra`'s
/// `MagicSniffer` knows far more formats.
#[derive(Debug, Default, Clone, Copy)]
pub struct BasicSniffer;

impl TypeSniffer for BasicSniffer {
    fn sniff(&self, head: &[u8]) -> Option<String> {
        if let Some((_, kind)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
            return Some((*kind).to_owned());
        }
        if head.len() >= 12 && head.starts_with(b"RIFF") && head[8..12] == *b"WEBP" {
            return Some("image/webp".to_owned());
        }
        let text = match std::str::from_utf8(head) {
            Ok(text) => text,
            // A character cut by the end of the sniffed bytes is fine.
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
            }
            Err(_) => return None,
        };
        let lower = text.to_ascii_lowercase();
        let markup = [
            "<!doctype html",
            "<html",
            "<script",
            "<body",
            "<head",
            "<iframe",
        ];
        let kind = if markup.iter().any(|tag| lower.contains(tag)) {
            "text/html"
        } else if lower.contains("<svg") {
            "image/svg+xml"
        } else if text.chars().all(|c| !c.is_control() || c.is_whitespace()) {
            "text/plain"
        } else {
            return None;
        };
        Some(kind.to_owned())
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
    }
}
