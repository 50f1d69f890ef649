//! The media type of a file from its first bytes: text is checked for
//! HTML and SVG by their tags first (so markup is never taken for
//! harmless text), then magic numbers (the `infer` crate), then plain
//! UTF-8 text.

use missive_domain::ports::TypeSniffer;
use missive_domain::upload::sniff_media_type;

/// Detects types by magic numbers; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct MagicSniffer;

impl TypeSniffer for MagicSniffer {
    fn sniff(&self, head: &[u8]) -> Option<String> {
        sniff_media_type(head, |head| {
            infer::get(head).map(|kind| kind.mime_type().to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(bytes: &[u8]) -> Option<String> {
        MagicSniffer.sniff(bytes)
    }

    #[test]
    fn magic_numbers_win_over_names() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").as_deref(),
            Some("image/png")
        );
        assert_eq!(
            sniff(b"\xff\xd8\xff\xe0\0\x10JFIF").as_deref(),
            Some("image/jpeg")
        );
        assert_eq!(sniff(b"GIF89a....").as_deref(), Some("image/gif"));
        assert_eq!(sniff(b"%PDF-1.7\n").as_deref(), Some("application/pdf"));
    }

    #[test]
    fn markup_is_recognised_so_it_can_be_refused_or_served_as_a_download() {
        assert_eq!(
            sniff(b"  <!DOCTYPE html><p>x").as_deref(),
            Some("text/html")
        );
        assert_eq!(sniff(b"\xef\xbb\xbf<html>").as_deref(), Some("text/html"));
        assert_eq!(
            sniff(b"<!-- x --><script>alert(1)</script>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            sniff(b"notes\n   <div onclick=x><iframe src=y>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            sniff(b"hello\n<script>alert(1)</script>").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>").as_deref(),
            Some("image/svg+xml")
        );
        assert_eq!(
            sniff(b"<?xml version='1.0'?>\n<svg/>").as_deref(),
            Some("image/svg+xml")
        );
    }

    #[test]
    fn text_is_text_and_binary_is_unknown() {
        assert_eq!(
            sniff("notes: ünïcode ✓\n".as_bytes()).as_deref(),
            Some("text/plain")
        );
        // A character cut by the end of the sniffed prefix is still text.
        assert_eq!(sniff(&"é".as_bytes()[..1]).as_deref(), Some("text/plain"));
        assert_eq!(sniff(b"\x00\x01\x02\x03binary"), None);
        assert_eq!(sniff(b"\xfe\xfe\xfe"), None);
    }
}
