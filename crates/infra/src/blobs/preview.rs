//! Image previews (the domain's `ImagePreviewer`) with the `image` crate:
//! PNG, JPEG, GIF (its first frame) and WebP. Decoding is CPU and memory
//! heavy, so it runs on the blocking pool, at most one per core at a time
//! (the bytes are read only once a turn is granted, so waiting uploads hold
//! no image in memory), within limits: a decoder may allocate at most
//! [`MAX_DECODE_BYTES`] (and files over [`MAX_DECODE_INPUT`] are not read
//! past their header) — a bigger image (a decompression bomb, or just
//! a huge photo) gets its dimensions from its header and no thumbnail.
//!
//! The thumbnail fits in [`THUMBNAIL_SIDE`]² pixels, turned upright by the
//! photo's EXIF orientation, and never enlarged; JPEG (quality 80) for
//! opaque images, PNG when the image has transparency.

use std::io::Cursor;
use std::sync::Arc;

use async_trait::async_trait;
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use missive_domain::ports::{ChunkSource, ImagePreviewer, Preview};
use missive_domain::upload::ContentType;
use tokio::sync::Semaphore;

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
/// The most a decoder may allocate (a 64-megapixel RGBA image).
pub const MAX_DECODE_BYTES: u64 = 256 << 20;
/// The largest file decoded; of a bigger one only the first
/// [`HEADER_BYTES`] are read, for its dimensions.
pub const MAX_DECODE_INPUT: u64 = 64 << 20;
/// The longest an upload waits for a turn to be previewed.
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(20);
/// What is read of a file too big to decode.
const HEADER_BYTES: u64 = 256 << 10;

/// The types read.
const READS: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Makes previews with the `image` crate; see the module docs.
#[derive(Debug, Clone)]
pub struct ImagePreviews {
    turns: Arc<Semaphore>,
    max_decode_bytes: u64,
}

impl ImagePreviews {
    /// At most `parallel` decodes at once (at least one).
    pub fn new(parallel: usize) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(parallel.max(1))),
            max_decode_bytes: MAX_DECODE_BYTES,
        }
    }

    /// The same, with decoders allowed `bytes` instead of
    /// [`MAX_DECODE_BYTES`].
    #[must_use]
    pub fn with_decode_limit(mut self, bytes: u64) -> Self {
        self.max_decode_bytes = bytes;
        self
    }

    /// One decode per core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
    }
}

#[async_trait]
impl ImagePreviewer for ImagePreviews {
    fn reads(&self, content_type: &ContentType) -> bool {
        READS.contains(&content_type.as_str())
    }

    async fn preview(&self, mut image: Box<dyn ChunkSource>, size: u64) -> Option<Preview> {
        // A queue longer than this is load the previews should not add
        // to: the file is kept without one.
        let _turn = tokio::time::timeout(MAX_WAIT, self.turns.acquire())
            .await
            .ok()?
            .ok()?;
        let whole = size <= MAX_DECODE_INPUT;
        let wanted = if whole { size } else { HEADER_BYTES };
        let mut bytes = Vec::with_capacity(usize::try_from(wanted).ok()?);
        while (bytes.len() as u64) < wanted {
            let Some(chunk) = image.next_chunk().await.ok()? else {
                break;
            };
            bytes.extend_from_slice(&chunk);
        }
        // A file too big to decode gets no thumbnail: an allowance of
        // nothing keeps the decoder to the header.
        let limit = if whole { self.max_decode_bytes } else { 0 };
        tokio::task::spawn_blocking(move || preview_of(&bytes, limit))
            .await
            .ok()
            .flatten()
    }
}

/// The preview of an encoded image; `None` when its header cannot be read.
fn preview_of(bytes: &[u8], max_decode_bytes: u64) -> Option<Preview> {
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .ok()
    };
    let mut limited = reader()?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_decode_bytes);
    limited.limits(limits);
    let Ok(mut decoder) = limited.into_decoder() else {
        // Over the limits (or a broken body): the header may still tell
        // the size.
        let (width, height) = reader()?.into_dimensions().ok()?;
        return Some(Preview {
            width,
            height,
            thumbnail: None,
        });
    };
    let orientation = decoder.orientation().ok();
    let (width, height) = decoder.dimensions();
    // Decoders honour `max_alloc` unevenly: the decoded size is checked
    // here, from the header, before anything is allocated.
    if decoder.total_bytes() > max_decode_bytes {
        return Some(Preview {
            width,
            height,
            thumbnail: None,
        });
    }
    // Dimensions as shown: a photo taken sideways reports them turned.
    let turned = matches!(
        orientation,
        Some(
            Orientation::Rotate90
                | Orientation::Rotate270
                | Orientation::Rotate90FlipH
                | Orientation::Rotate270FlipH
        )
    );
    let (width, height) = if turned {
        (height, width)
    } else {
        (width, height)
    };
    let thumbnail = DynamicImage::from_decoder(decoder)
        .ok()
        .and_then(|decoded| thumbnail(decoded, orientation));
    Some(Preview {
        width,
        height,
        thumbnail,
    })
}

/// The encoded thumbnail of a decoded image, turned upright (the small
/// copy is turned, never the full image: no second full-size buffer).
fn thumbnail(image: DynamicImage, orientation: Option<Orientation>) -> Option<Vec<u8>> {
    let mut small = if image.width() > THUMBNAIL_SIDE || image.height() > THUMBNAIL_SIDE {
        let small = image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE);
        drop(image);
        small
    } else {
        image
    };
    if let Some(orientation) = orientation {
        small.apply_orientation(orientation);
    }
    let mut out = Vec::new();
    if small.color().has_alpha() {
        small
            .to_rgba8()
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .ok()?;
    } else {
        JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&small.to_rgb8())
            .ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use missive_domain::ports::BlobError;

    struct Once(Option<Vec<u8>>);

    #[async_trait]
    impl ChunkSource for Once {
        async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
            Ok(self.0.take())
        }
    }

    fn encoded(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), format)
            .expect("encode");
        out
    }

    async fn preview(bytes: Vec<u8>) -> Option<Preview> {
        preview_with(ImagePreviews::new(2), bytes).await
    }

    async fn preview_with(previews: ImagePreviews, bytes: Vec<u8>) -> Option<Preview> {
        let size = bytes.len() as u64;
        previews.preview(Box::new(Once(Some(bytes))), size).await
    }

    #[tokio::test]
    async fn a_photo_gets_its_size_and_a_jpeg_thumbnail_within_320_pixels() {
        let photo = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            1600,
            900,
            image::Rgb([200, 30, 30]),
        ));
        let made = preview(encoded(&photo, ImageFormat::Png))
            .await
            .expect("a preview");
        assert_eq!((made.width, made.height), (1600, 900));
        let thumb = image::load_from_memory(&made.thumbnail.clone().expect("a thumbnail"))
            .expect("decodes");
        assert_eq!((thumb.width(), thumb.height()), (320, 180));
        assert_eq!(
            image::guess_format(&made.thumbnail.expect("thumb")).expect("format"),
            ImageFormat::Jpeg
        );
    }

    #[tokio::test]
    async fn transparency_keeps_a_png_thumbnail_and_small_images_are_not_enlarged() {
        let logo = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(
            40,
            20,
            image::Rgba([0, 0, 0, 0]),
        ));
        let made = preview(encoded(&logo, ImageFormat::Png))
            .await
            .expect("a preview");
        let bytes = made.thumbnail.expect("a thumbnail");
        assert_eq!(
            image::guess_format(&bytes).expect("format"),
            ImageFormat::Png
        );
        let thumb = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((thumb.width(), thumb.height()), (40, 20));
    }

    #[tokio::test]
    async fn an_image_too_big_to_decode_keeps_its_size_without_a_thumbnail() {
        // 2000×2000 RGB is 12 MB decoded (a few KB encoded, being one
        // colour): over a 1 MiB allowance, as a bomb is over the real one.
        let big = DynamicImage::ImageRgb8(image::RgbImage::new(2000, 2000));
        let made = preview_with(
            ImagePreviews::new(1).with_decode_limit(1 << 20),
            encoded(&big, ImageFormat::Png),
        )
        .await
        .expect("a preview");
        assert_eq!((made.width, made.height), (2000, 2000));
        assert_eq!(made.thumbnail, None);
    }

    /// A real image's bytes, then padding without end, counting reads.
    struct Endless {
        head: Option<Vec<u8>>,
        read: Arc<std::sync::atomic::AtomicU64>,
    }

    #[async_trait]
    impl ChunkSource for Endless {
        async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
            let chunk = self.head.take().unwrap_or_else(|| vec![0; 64 << 10]);
            self.read
                .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(Some(chunk))
        }
    }

    #[tokio::test]
    async fn a_file_too_big_to_decode_is_read_only_for_its_header() {
        let photo = DynamicImage::ImageRgb8(image::RgbImage::new(300, 200));
        let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let source = Endless {
            head: Some(encoded(&photo, ImageFormat::Png)),
            read: Arc::clone(&read),
        };
        let made = ImagePreviews::new(1)
            .preview(Box::new(source), 1 << 30)
            .await
            .expect("a preview");
        assert_eq!((made.width, made.height, made.thumbnail), (300, 200, None));
        assert!(read.load(std::sync::atomic::Ordering::Relaxed) < 1 << 20);
    }

    #[tokio::test]
    async fn bytes_that_are_not_an_image_have_no_preview() {
        assert_eq!(preview(b"not an image at all".to_vec()).await, None);
    }

    #[test]
    fn only_raster_types_it_decodes_are_read() {
        let previews = ImagePreviews::new(1);
        for (t, read) in [
            ("image/png", true),
            ("image/jpeg", true),
            ("image/gif", true),
            ("image/webp", true),
            ("image/svg+xml", false),
            ("application/pdf", false),
        ] {
            assert_eq!(
                previews.reads(&ContentType::new(t).expect("valid")),
                read,
                "{t}"
            );
        }
    }
}
