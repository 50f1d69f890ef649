use futures_executor::block_on;
use mockall::predicate::eq;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::ports::{
    MockBlobStore, MockClock, MockImagePreviewer, MockTypeSniffer, MockUploadRepository, Preview,
};
use crate::upload::{AllowedTypes, Sha256};

const NOW: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n....";

/// Bytes arriving in two chunks.
struct Body(Vec<Vec<u8>>);

#[async_trait::async_trait]
impl ChunkSource for Body {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(if self.0.is_empty() {
            None
        } else {
            Some(self.0.remove(0))
        })
    }
}

fn body() -> Body {
    Body(vec![PNG[..4].to_vec(), PNG[4..].to_vec()])
}

fn sha() -> Sha256 {
    Sha256::from_digest(&[7; 32])
}

fn staged() -> Staged {
    Staged {
        sha256: sha(),
        size: PNG.len() as u64,
        head: PNG.to_vec(),
        handle: "tmp/1".into(),
    }
}

struct Fakes {
    uploads: MockUploadRepository,
    blobs: MockBlobStore,
    sniffer: MockTypeSniffer,
    previewer: MockImagePreviewer,
    previews: bool,
}

impl Fakes {
    fn new() -> Self {
        Self {
            uploads: MockUploadRepository::new(),
            blobs: MockBlobStore::new(),
            sniffer: MockTypeSniffer::new(),
            previewer: MockImagePreviewer::new(),
            previews: false,
        }
    }

    fn service(mut self) -> UploadService {
        if !self.previews {
            // Unless a test says otherwise: no type is an image it reads.
            self.previewer.expect_reads().return_const(false);
        }
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        UploadService::new(
            Arc::new(self.uploads),
            Arc::new(self.blobs),
            Arc::new(self.sniffer),
            Arc::new(self.previewer),
            Arc::new(clock),
            UploadPolicy {
                max_bytes: 1000,
                quota_bytes: 5000,
                allowed: AllowedTypes::new(["image/*", "application/pdf"]),
            },
        )
    }

    /// A stage that succeeds, and the release that must follow it.
    fn staging(&mut self) {
        self.uploads.expect_used_bytes().returning(|_| Ok(0));
        self.blobs
            .expect_stage()
            .withf(|_, max| *max == 1000)
            .times(1)
            .returning(|_, _| Ok(staged()));
        self.blobs
            .expect_release()
            .withf(|s| s.sha256 == sha())
            .times(1)
            .return_const(());
    }

    /// An image the previewer reads: 640×480, with a thumbnail stored as
    /// its own blob.
    fn previewing(&mut self) {
        self.previews = true;
        self.previewer
            .expect_reads()
            .withf(|t| t.as_str() == "image/png")
            .return_const(true);
        self.blobs
            .expect_open()
            .withf(|s, range| *s == sha() && range.is_none())
            .times(1)
            .returning(|_, _| Ok(Box::new(body())));
        self.previewer
            .expect_preview()
            .withf(|_, size| *size == PNG.len() as u64)
            .times(1)
            .returning(|_, _| {
                Some(Preview {
                    width: 640,
                    height: 480,
                    thumbnail: Some(THUMB.to_vec()),
                })
            });
        self.blobs
            .expect_stage()
            .withf(|_, max| *max == THUMB.len() as u64)
            .times(1)
            .returning(|_, _| {
                Ok(Staged {
                    sha256: thumb_sha(),
                    size: THUMB.len() as u64,
                    head: THUMB.to_vec(),
                    handle: "tmp/thumb".into(),
                })
            });
        self.blobs
            .expect_release()
            .withf(|s| s.sha256 == thumb_sha())
            .times(1)
            .return_const(());
    }
}

const THUMB: &[u8] = b"\x89PNG small";

fn thumb_sha() -> Sha256 {
    Sha256::from_digest(&[9; 32])
}

#[test]
fn an_image_gets_its_dimensions_and_a_thumbnail_stored_before_its_record() {
    let mut fakes = Fakes::new();
    fakes.staging();
    fakes.previewing();
    fakes
        .sniffer
        .expect_sniff()
        .return_const(Some("image/png".to_owned()));
    fakes.blobs.expect_commit().times(2).returning(|_| Ok(()));
    fakes
        .uploads
        .expect_create()
        .withf(|upload, _| {
            upload.width == Some(640)
                && upload.height == Some(480)
                && upload.thumbnail == Some(thumb_sha())
        })
        .times(1)
        .returning(|_, _| Ok(()));
    fakes.blobs.expect_exists().times(2).returning(|_| Ok(true));
    let upload = block_on(
        fakes
            .service()
            .receive(UserId::new(), "cat.png", Box::new(body())),
    )
    .expect("valid");
    assert_eq!((upload.width, upload.height), (Some(640), Some(480)));
    assert_eq!(upload.thumbnail, Some(thumb_sha()));
}

#[test]
fn a_used_up_quota_is_told_before_the_file_is_stored_or_previewed() {
    let mut fakes = Fakes::new();
    fakes.previews = true;
    fakes
        .uploads
        .expect_used_bytes()
        .returning(|_| Ok(5000 - PNG.len() as u64 + 1));
    fakes.blobs.expect_stage().returning(|_, _| Ok(staged()));
    fakes.blobs.expect_release().times(1).return_const(());
    fakes
        .sniffer
        .expect_sniff()
        .return_const(Some("image/png".to_owned()));
    fakes.blobs.expect_commit().never();
    fakes.previewer.expect_preview().never();
    fakes.uploads.expect_create().never();
    let refused = block_on(
        fakes
            .service()
            .receive(UserId::new(), "a.png", Box::new(body())),
    );
    assert!(
        matches!(refused, Err(UploadError::QuotaExceeded)),
        "{refused:?}"
    );
}

#[test]
fn an_image_that_cannot_be_read_is_kept_without_a_preview() {
    let mut fakes = Fakes::new();
    fakes.previews = true;
    fakes.staging();
    fakes.previewer.expect_reads().return_const(true);
    fakes
        .blobs
        .expect_open()
        .returning(|_, _| Ok(Box::new(body())));
    fakes.previewer.expect_preview().returning(|_, _| None);
    fakes
        .sniffer
        .expect_sniff()
        .return_const(Some("image/png".to_owned()));
    fakes.blobs.expect_commit().times(1).returning(|_| Ok(()));
    fakes
        .uploads
        .expect_create()
        .withf(|upload, _| upload.width.is_none() && upload.thumbnail.is_none())
        .times(1)
        .returning(|_, _| Ok(()));
    fakes.blobs.expect_exists().times(1).returning(|_| Ok(true));
    block_on(
        fakes
            .service()
            .receive(UserId::new(), "broken.png", Box::new(body())),
    )
    .expect("kept");
}

#[test]
fn a_refused_image_leaves_neither_its_bytes_nor_its_thumbnail() {
    let mut fakes = Fakes::new();
    fakes.staging();
    fakes.previewing();
    fakes
        .sniffer
        .expect_sniff()
        .return_const(Some("image/png".to_owned()));
    fakes.blobs.expect_commit().returning(|_| Ok(()));
    fakes
        .uploads
        .expect_create()
        .returning(|_, _| Err(CreateUploadError::QuotaExceeded));
    for collected in [sha(), thumb_sha()] {
        fakes
            .uploads
            .expect_collect_blob()
            .withf(move |sha, _| *sha == collected)
            .times(1)
            .returning(|_, _| Ok(true));
    }
    let refused = block_on(
        fakes
            .service()
            .receive(UserId::new(), "big.png", Box::new(body())),
    );
    assert!(
        matches!(refused, Err(UploadError::QuotaExceeded)),
        "{refused:?}"
    );
}

#[test]
fn a_file_is_staged_typed_committed_then_recorded() {
    let owner = UserId::new();
    let mut fakes = Fakes::new();
    fakes.staging();
    fakes
        .sniffer
        .expect_sniff()
        .withf(|head| head == PNG)
        .return_const(Some("image/png".to_owned()));
    let mut order = mockall::Sequence::new();
    fakes
        .blobs
        .expect_commit()
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(()));
    fakes
        .uploads
        .expect_create()
        .times(1)
        .in_sequence(&mut order)
        .withf(move |upload, quota| {
            upload.owner == owner
                && upload.filename.as_str() == "cat.png"
                && upload.content_type.as_str() == "image/png"
                && upload.size == PNG.len() as u64
                && upload.sha256 == sha()
                && upload.created_at == NOW
                && *quota == 5000
        })
        .returning(|_, _| Ok(()));
    fakes
        .blobs
        .expect_exists()
        .with(eq(sha()))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(true));
    let upload = block_on(
        fakes
            .service()
            .receive(owner, "../photos/cat.png", Box::new(body())),
    )
    .expect("valid");
    assert_eq!(upload.filename.as_str(), "cat.png");
}

#[test]
fn a_file_over_the_limit_is_refused_and_nothing_is_recorded() {
    let mut fakes = Fakes::new();
    fakes
        .blobs
        .expect_stage()
        .returning(|_, _| Err(BlobError::TooLarge));
    fakes.blobs.expect_commit().never();
    fakes.uploads.expect_create().never();
    let refused = block_on(
        fakes
            .service()
            .receive(UserId::new(), "big.png", Box::new(body())),
    );
    assert!(
        matches!(refused, Err(UploadError::TooLarge(1000))),
        "{refused:?}"
    );
}

#[test]
fn a_type_not_allowed_or_unknown_is_refused_and_released() {
    for detected in [Some("text/html"), Some("application/zip"), None] {
        let mut fakes = Fakes::new();
        fakes.staging();
        fakes
            .sniffer
            .expect_sniff()
            .return_const(detected.map(str::to_owned));
        fakes.blobs.expect_commit().never();
        fakes.uploads.expect_create().never();
        let result = block_on(
            fakes
                .service()
                .receive(UserId::new(), "x", Box::new(body())),
        );
        assert!(
            matches!(result, Err(UploadError::UnsupportedType(_))),
            "{detected:?}: {result:?}"
        );
    }
}

#[test]
fn a_used_up_quota_is_refused_and_the_staged_copy_released() {
    let mut fakes = Fakes::new();
    fakes.staging();
    fakes
        .sniffer
        .expect_sniff()
        .return_const(Some("application/pdf".to_owned()));
    fakes.blobs.expect_commit().returning(|_| Ok(()));
    fakes
        .uploads
        .expect_create()
        .returning(|_, _| Err(CreateUploadError::QuotaExceeded));
    // The bytes committed before the refusal go at once (unless named).
    fakes
        .uploads
        .expect_collect_blob()
        .withf(|sha, _| *sha == self::sha())
        .times(1)
        .returning(|_, _| Ok(true));
    let refused = block_on(
        fakes
            .service()
            .receive(UserId::new(), "a.pdf", Box::new(body())),
    );
    assert!(
        matches!(refused, Err(UploadError::QuotaExceeded)),
        "{refused:?}"
    );
}

#[test]
fn a_blob_collected_before_the_record_is_written_again() {
    let mut fakes = Fakes::new();
    fakes.staging();
    fakes
        .sniffer
        .expect_sniff()
        .return_const(Some("image/png".to_owned()));
    fakes.blobs.expect_commit().times(2).returning(|_| Ok(()));
    fakes.uploads.expect_create().returning(|_, _| Ok(()));
    fakes.blobs.expect_exists().returning(|_| Ok(false));
    block_on(
        fakes
            .service()
            .receive(UserId::new(), "a.png", Box::new(body())),
    )
    .expect("valid");
}

#[test]
fn an_upload_the_caller_may_not_see_is_not_found() {
    let mut fakes = Fakes::new();
    fakes
        .uploads
        .expect_find_visible()
        .returning(|_, _| Ok(None));
    fakes.blobs.expect_open().never();
    let result = block_on(
        fakes
            .service()
            .open(UserId::new(), UploadId::new(), false, None),
    );
    assert!(matches!(result, Err(UploadError::NotFound)));
}

fn visible(fakes: &mut Fakes, thumbnail: Option<Sha256>) {
    fakes
        .uploads
        .expect_find_visible()
        .returning(move |owner, id| {
            Ok(Some(Upload {
                id,
                owner,
                filename: FileName::clean("a.png"),
                content_type: ContentType::new("image/png").expect("valid"),
                size: 100,
                sha256: sha(),
                width: Some(2),
                height: Some(3),
                thumbnail: thumbnail.clone(),
                created_at: NOW,
            }))
        });
}

#[test]
fn ranges_are_resolved_against_the_size_and_past_the_end_is_416() {
    let mut fakes = Fakes::new();
    visible(&mut fakes, None);
    fakes
        .blobs
        .expect_open()
        .withf(|sha, range| {
            *sha == self::sha()
                && *range
                    == Some(ByteRange {
                        first: 90,
                        last: 99,
                    })
        })
        .times(1)
        .returning(|_, _| Ok(Box::new(Body(vec![]))));
    let service = fakes.service();
    let download = block_on(service.open(UserId::new(), UploadId::new(), false, Some("bytes=-10")))
        .expect("valid");
    assert_eq!(
        download.range,
        Some(ByteRange {
            first: 90,
            last: 99
        })
    );
    let past = block_on(service.open(UserId::new(), UploadId::new(), false, Some("bytes=100-")));
    assert!(matches!(past, Err(UploadError::RangeNotSatisfiable(100))));
}

#[test]
fn a_missing_thumbnail_is_not_found() {
    let mut fakes = Fakes::new();
    visible(&mut fakes, None);
    let result = block_on(
        fakes
            .service()
            .open(UserId::new(), UploadId::new(), true, None),
    );
    assert!(matches!(result, Err(UploadError::NotFound)));
}

#[test]
fn a_collection_expires_uploads_then_blobs_then_what_crashes_left() {
    let mut fakes = Fakes::new();
    let (named_gone, orphan, recorded) = (
        Sha256::from_digest(&[1; 32]),
        Sha256::from_digest(&[2; 32]),
        Sha256::from_digest(&[3; 32]),
    );
    let mut order = mockall::Sequence::new();
    fakes
        .uploads
        .expect_expire_unattached()
        .withf(|before, batch| *before == NOW - time::Duration::hours(24) && *batch == 50)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(4));
    let unreferenced = named_gone.clone();
    fakes
        .uploads
        .expect_unreferenced_blobs()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_| Ok(vec![unreferenced.clone()]));
    let first = named_gone.clone();
    fakes
        .uploads
        .expect_collect_blob()
        .withf(move |sha, _| *sha == first)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(true));
    let listed = vec![orphan.clone(), recorded.clone()];
    fakes
        .blobs
        .expect_list_older()
        .withf(|before, _| *before == NOW - ORPHAN_GRACE)
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _| Ok(listed.clone()));
    let only_orphan = orphan.clone();
    fakes
        .uploads
        .expect_unrecorded()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_| Ok(vec![only_orphan.clone()]));
    fakes
        .uploads
        .expect_collect_blob()
        .withf(move |sha, _| *sha == orphan)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(true));
    fakes
        .blobs
        .expect_sweep_staging()
        .withf(|before| *before == NOW - ORPHAN_GRACE)
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| Ok(2));
    let collected =
        block_on(fakes.service().collect(time::Duration::hours(24), 50)).expect("collected");
    assert_eq!(
        collected,
        Collected {
            uploads: 4,
            blobs: 1,
            orphans: 1,
            staged: 2,
            failed: 0
        }
    );
}
