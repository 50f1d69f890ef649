//! Uploads (SPEC §4.7): files users send, stored once per content as
//! blobs named by their SHA-256, attached to messages. See
//! `docs/design/attachments.md` for the lifecycle.

use time::OffsetDateTime;

use crate::ids::{UploadId, UserId};
use crate::value::ValueError;

/// A SHA-256 digest as 64 lowercase hex digits: a blob's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(String);

impl Sha256 {
    /// Checks the shape (64 hex digits) and lower-cases it.
    ///
    /// # Errors
    /// [`ValueError`] for anything else.
    pub fn new(hex: &str) -> Result<Self, ValueError> {
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(hex.to_ascii_lowercase()))
        } else {
            Err(ValueError::new("must be 64 hexadecimal digits"))
        }
    }

    /// From a raw 32-byte digest.
    pub fn from_digest(digest: &[u8; 32]) -> Self {
        use std::fmt::Write;
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        Self(hex)
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A file's name as shown and offered for download: the last path
/// component of what the client sent, without control characters, 1–255
/// characters ("file" when nothing is left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Longest name, in characters.
    pub const MAX_CHARS: usize = 255;

    /// Cleans a client's file name: the part after the last `/` or `\`,
    /// control and direction characters dropped, trimmed, cut to
    /// [`Self::MAX_CHARS`]; never fails.
    pub fn clean(raw: &str) -> Self {
        let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
        let kept: String = last
            .chars()
            .filter(|c| {
                !c.is_control()
                    && !matches!(
                        c,
                        '\u{200B}'..='\u{200F}'
                            | '\u{2028}'..='\u{202E}'
                            | '\u{2060}'..='\u{2069}'
                            | '\u{061C}'
                            | '\u{FEFF}'
                    )
            })
            .take(Self::MAX_CHARS)
            .collect();
        let trimmed = kept.trim().trim_start_matches('.');
        if trimmed.is_empty() {
            Self("file".to_owned())
        } else {
            Self(trimmed.to_owned())
        }
    }

    /// A name read back from storage.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A media type such as `image/png`, lower-case, without parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContentType(String);

impl ContentType {
    /// Parses `type/subtype` (parameters after `;` dropped, lower-cased).
    ///
    /// # Errors
    /// [`ValueError`] when it is not `type/subtype` of token characters.
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        let essence = raw
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 127
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match essence.split_once('/') {
            Some((kind, sub)) if token(kind) && token(sub) => Ok(Self(essence)),
            _ => Err(ValueError::new("must be a media type such as image/png")),
        }
    }

    /// The media type.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether browsers may show it inline without risk: images other
    /// than SVG, audio and video. Everything else — HTML, SVG, PDF, text,
    /// archives — is served as an attachment, so a file can never run
    /// script on this origin (stored XSS).
    pub fn is_safe_inline(&self) -> bool {
        matches!(
            self.0.as_str(),
            "image/png"
                | "image/jpeg"
                | "image/gif"
                | "image/webp"
                | "image/avif"
                | "audio/mpeg"
                | "audio/ogg"
                | "audio/wav"
                | "audio/webm"
                | "video/mp4"
                | "video/webm"
                | "video/ogg"
        )
    }
}

/// Which media types may be uploaded: exact types (`image/png`) and whole
/// families (`image/*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedTypes(Vec<String>);

impl AllowedTypes {
    /// From configuration entries such as `image/*` or `application/pdf`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(patterns: I) -> Self {
        Self(
            patterns
                .into_iter()
                .map(|p| p.into().trim().to_ascii_lowercase())
                .collect(),
        )
    }

    /// Whether `content_type` matches one of the patterns.
    pub fn allows(&self, content_type: &ContentType) -> bool {
        let value = content_type.as_str();
        self.0.iter().any(|pattern| {
            pattern == "*/*"
                || pattern == value
                || pattern
                    .strip_suffix("/*")
                    .is_some_and(|family| value.split('/').next() == Some(family))
        })
    }
}

/// The limits on uploads.
#[derive(Debug, Clone)]
pub struct UploadPolicy {
    /// Largest upload, in bytes.
    pub max_bytes: u64,
    /// Most bytes one user's uploads may hold together.
    pub quota_bytes: u64,
    /// Which detected types are accepted.
    pub allowed: AllowedTypes,
}

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Its id.
    pub id: UploadId,
    /// Who uploaded it.
    pub owner: UserId,
    /// Its file name.
    pub filename: FileName,
    /// Its type, detected from its bytes.
    pub content_type: ContentType,
    /// Its size in bytes.
    pub size: u64,
    /// Its content's digest (the blob's name).
    pub sha256: Sha256,
    /// An image's width in pixels.
    pub width: Option<u32>,
    /// An image's height in pixels.
    pub height: Option<u32>,
    /// The blob holding a small preview of an image.
    pub thumbnail: Option<Sha256>,
    /// When it was uploaded.
    pub created_at: OffsetDateTime,
}

/// The uploads a message attaches: at most [`Self::MAX`], each once, in
/// the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachmentIds(Vec<UploadId>);

impl AttachmentIds {
    /// Most attachments on one message.
    pub const MAX: usize = 10;

    /// Checks a message's attachment list.
    ///
    /// # Errors
    /// [`ValueError`] for more than [`Self::MAX`] ids or an id given twice.
    pub fn new(ids: Vec<UploadId>) -> Result<Self, ValueError> {
        if ids.len() > Self::MAX {
            return Err(ValueError::new(format!(
                "at most {} attachments per message",
                Self::MAX
            )));
        }
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(ValueError::new("each upload may be attached once"));
            }
        }
        Ok(Self(ids))
    }

    /// The ids, in order.
    pub fn ids(&self) -> &[UploadId] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A byte range of a blob, both ends included (HTTP `Range: bytes=a-b`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub first: u64,
    /// The last byte.
    pub last: u64,
}

impl ByteRange {
    /// Resolves an HTTP byte range spec (`a-b`, `a-`, `-n`) against a
    /// blob of `size` bytes. `Ok(None)`: the whole blob (no spec, or one
    /// this server ignores, such as several ranges); `Err`: not
    /// satisfiable (416).
    ///
    /// # Errors
    /// `Err(())` when the range starts past the end.
    #[expect(clippy::result_unit_err, reason = "the only failure is 416")]
    pub fn resolve(spec: Option<&str>, size: u64) -> Result<Option<Self>, ()> {
        let Some(spec) = spec.and_then(|s| s.trim().strip_prefix("bytes=")) else {
            return Ok(None);
        };
        if spec.contains(',') {
            return Ok(None);
        }
        let Some((first, last)) = spec.split_once('-') else {
            return Ok(None);
        };
        let (first, last) = (first.trim(), last.trim());
        let range = match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(first), Ok(last)) if first <= last => {
                Some((first, last.min(size.saturating_sub(1))))
            }
            (Ok(first), Err(_)) if last.is_empty() => Some((first, size.saturating_sub(1))),
            (Err(_), Ok(suffix)) if first.is_empty() => {
                if suffix == 0 {
                    return Err(());
                }
                Some((size.saturating_sub(suffix), size.saturating_sub(1)))
            }
            _ => None,
        };
        match range {
            None => Ok(None),
            Some((first, _)) if first >= size => Err(()),
            Some((first, last)) => Ok(Some(Self { first, last })),
        }
    }

    /// How many bytes it covers.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never empty (both ends are included); for clippy's sake.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The media type of a file from its first bytes, in the order that keeps
/// markup from passing for something harmless: UTF-8 text is first looked
/// at for HTML and SVG tags anywhere (a browser that ignored `nosniff`
/// would render a page behind a comment, whitespace or a GIF header just
/// the same) and for XML; then `magic` (the adapter's magic numbers) names
/// the format; then other UTF-8 text is `text/plain`; anything else is
/// unknown. A `TypeSniffer` adapter supplies `magic` and calls this.
#[must_use]
pub fn sniff_media_type(head: &[u8], magic: impl Fn(&[u8]) -> Option<String>) -> Option<String> {
    let Some(text) = utf8_prefix(head) else {
        return magic(head);
    };
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    let html = [
        "<!doctype html",
        "<html",
        "<script",
        "<body",
        "<head",
        "<iframe",
    ];
    let found = if html.iter().any(|tag| start.contains(tag)) {
        "text/html"
    } else if start.contains("<svg") {
        "image/svg+xml"
    } else if start.starts_with("<?xml") {
        "application/xml"
    } else if let Some(kind) = magic(head) {
        return Some(kind);
    } else if text.chars().all(|c| !c.is_control() || c.is_whitespace()) {
        "text/plain"
    } else {
        return None;
    };
    Some(found.to_owned())
}

/// The bytes as text when they are UTF-8 (a character cut by the end of
/// the sniffed prefix is fine); `None` for binary.
fn utf8_prefix(head: &[u8]) -> Option<&str> {
    match std::str::from_utf8(head) {
        Ok(text) => Some(text),
        // Only an incomplete last character (at most 3 bytes) is allowed.
        Err(e) if e.error_len().is_none() && head.len() - e.valid_up_to() < 4 => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_lists_hold_at_most_ten_distinct_uploads() {
        let ids: Vec<UploadId> = (0..11).map(|_| UploadId::new()).collect();
        assert!(AttachmentIds::new(ids[..10].to_vec()).is_ok());
        assert!(AttachmentIds::new(ids.clone()).is_err());
        assert!(AttachmentIds::new(vec![ids[0], ids[1], ids[0]]).is_err());
        let kept = AttachmentIds::new(vec![ids[2], ids[1]]).expect("valid");
        assert_eq!(kept.ids(), &[ids[2], ids[1]]);
        assert!(AttachmentIds::default().is_empty());
    }

    #[test]
    fn file_names_lose_invisible_format_characters() {
        assert_eq!(
            FileName::clean("in\u{200B}voice\u{FEFF}.pdf\u{2066}").as_str(),
            "invoice.pdf"
        );
    }

    #[test]
    fn file_names_keep_their_last_component_and_lose_control_characters() {
        assert_eq!(FileName::clean("photo.png").as_str(), "photo.png");
        assert_eq!(FileName::clean("../../etc/passwd").as_str(), "passwd");
        assert_eq!(
            FileName::clean("C:\\Users\\me\\a b.pdf").as_str(),
            "a b.pdf"
        );
        assert_eq!(
            FileName::clean("evil\u{202E}gnp.exe").as_str(),
            "evilgnp.exe"
        );
        assert_eq!(FileName::clean("a\nb\u{0}c").as_str(), "abc");
        assert_eq!(FileName::clean("").as_str(), "file");
        assert_eq!(FileName::clean("dir/").as_str(), "file");
        assert_eq!(FileName::clean(".htaccess").as_str(), "htaccess");
        assert_eq!(
            FileName::clean(&"x".repeat(400)).as_str().chars().count(),
            255
        );
    }

    #[test]
    fn content_types_are_normalised_and_checked() {
        assert_eq!(
            ContentType::new("Image/PNG; q=1").expect("valid").as_str(),
            "image/png"
        );
        for bad in ["", "png", "image/", "/png", "image/png/x", "ima ge/png"] {
            assert!(ContentType::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_safe_types_show_inline() {
        for inline in ["image/png", "image/jpeg", "video/mp4"] {
            assert!(ContentType::new(inline).expect("valid").is_safe_inline());
        }
        for attachment in [
            "text/html",
            "image/svg+xml",
            "application/pdf",
            "text/plain",
            "application/xhtml+xml",
        ] {
            assert!(
                !ContentType::new(attachment)
                    .expect("valid")
                    .is_safe_inline(),
                "{attachment}"
            );
        }
    }

    #[test]
    fn allowed_types_match_exactly_or_by_family() {
        let allowed = AllowedTypes::new(["image/*", "application/pdf"]);
        let t = |s| ContentType::new(s).expect("valid");
        assert!(allowed.allows(&t("image/png")));
        assert!(allowed.allows(&t("application/pdf")));
        assert!(!allowed.allows(&t("application/zip")));
        assert!(!allowed.allows(&t("imagex/png")));
        assert!(AllowedTypes::new(["*/*"]).allows(&t("text/html")));
    }

    #[test]
    fn digests_are_64_lowercase_hex_digits() {
        let hex = "AB".repeat(32);
        assert_eq!(Sha256::new(&hex).expect("valid").as_str(), "ab".repeat(32));
        assert!(Sha256::new("abc").is_err());
        assert!(Sha256::new(&"g".repeat(64)).is_err());
        assert_eq!(Sha256::from_digest(&[0xab; 32]).as_str(), "ab".repeat(32));
    }

    #[test]
    fn byte_ranges_follow_http() {
        let r = |spec: &str, size| ByteRange::resolve(Some(spec), size);
        assert_eq!(
            r("bytes=0-9", 100),
            Ok(Some(ByteRange { first: 0, last: 9 }))
        );
        assert_eq!(
            r("bytes=90-", 100),
            Ok(Some(ByteRange {
                first: 90,
                last: 99
            }))
        );
        assert_eq!(
            r("bytes=-10", 100),
            Ok(Some(ByteRange {
                first: 90,
                last: 99
            }))
        );
        assert_eq!(
            r("bytes=-500", 100),
            Ok(Some(ByteRange { first: 0, last: 99 }))
        );
        assert_eq!(
            r("bytes=50-5000", 100),
            Ok(Some(ByteRange {
                first: 50,
                last: 99
            }))
        );
        assert_eq!(r("bytes=100-", 100), Err(()));
        assert_eq!(r("bytes=-0", 100), Err(()));
        assert_eq!(r("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(r("items=0-1", 100), Ok(None));
        assert_eq!(r("bytes=9-0", 100), Ok(None));
        assert_eq!(ByteRange::resolve(None, 100), Ok(None));
        assert_eq!(
            r("bytes=0-9", 100).expect("valid").expect("valid").len(),
            10
        );
    }
}
