//! The S3 blob store against an S3 server inside the test process (`s3s`
//! serving a temporary directory through `s3s-fs`, on a loopback port):
//! what only S3 has — multipart uploads, ranges across parts, refused
//! credentials, an unreachable service, a broken read — and its
//! throughput (ignored: `cargo test --release -p missive-infra --test
//! contract s3 -- --ignored --nocapture`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use missive_domain::InfraError;
use missive_domain::ports::{BlobError, BlobStore, ChunkSource};
use missive_domain::upload::{ByteRange, Sha256};
use missive_infra::blobs::PART_BYTES;
use missive_infra::{S3BlobStore, S3Config};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use sha2::Digest;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const BUCKET: &str = "missive-test";
const ACCESS_KEY: &str = "test-access-key";
const SECRET_KEY: &str = "test-secret-key";

/// An S3 server on a loopback port, serving a fresh temporary directory
/// with one empty bucket; stopped when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    dir: tempfile::TempDir,
    task: JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // s3s-fs keeps a bucket as a directory under its root.
        std::fs::create_dir(dir.path().join(BUCKET)).expect("the bucket");
        let fs = s3s_fs::FileSystem::new(dir.path()).expect("an s3s-fs root");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            endpoint,
            dir,
            task,
        }
    }

    /// The configuration of a store in the bucket at `endpoint`.
    pub fn config_for(endpoint: &str) -> S3Config {
        S3Config {
            bucket: BUCKET.to_owned(),
            endpoint: Some(endpoint.to_owned()),
            region: "us-east-1".to_owned(),
            access_key_id: ACCESS_KEY.to_owned(),
            secret_access_key: SECRET_KEY.to_owned(),
            allow_http: true,
            prefix: None,
        }
    }

    pub fn config(&self) -> S3Config {
        Self::config_for(&self.endpoint)
    }

    pub fn store(&self) -> S3BlobStore {
        S3BlobStore::new(self.config()).expect("an S3 store")
    }

    /// Where the bucket's objects are on disk.
    fn bucket_dir(&self) -> PathBuf {
        self.dir.path().join(BUCKET)
    }

    /// Multipart uploads neither completed nor aborted, and their parts
    /// (s3s-fs keeps them beside the buckets as `.upload-<id>.json` and
    /// `.upload_id-<id>.part-<n>`).
    fn pending_parts(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path())
            .expect("the server's directory")
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with(".upload"))
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `len` bytes of a pattern, made chunk by chunk as they are read, so
/// that a large source is never in memory; optionally failing after
/// `fail_after` bytes, like a client that went away.
struct Generated {
    len: u64,
    at: u64,
    chunk: usize,
    fail_after: Option<u64>,
}

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(7) % 251) as u8
}

fn pattern(len: u64) -> Vec<u8> {
    (0..len).map(byte_at).collect()
}

#[async_trait::async_trait]
impl ChunkSource for Generated {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        if self.fail_after.is_some_and(|limit| self.at >= limit) {
            return Err(BlobError::Source("the client went away".into()));
        }
        if self.at >= self.len {
            return Ok(None);
        }
        let end = (self.at + self.chunk as u64).min(self.len);
        let chunk = (self.at..end).map(byte_at).collect();
        self.at = end;
        Ok(Some(chunk))
    }
}

fn generated(len: u64) -> Box<dyn ChunkSource> {
    Box::new(Generated {
        len,
        at: 0,
        chunk: 64 * 1024,
        fail_after: None,
    })
}

async fn read_all(mut source: Box<dyn ChunkSource>) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = source.next_chunk().await.expect("read") {
        out.extend(chunk);
    }
    out
}

async fn stored(store: &S3BlobStore, len: u64) -> Sha256 {
    let staged = store.stage(generated(len), len).await.expect("staged");
    store.commit(&staged).await.expect("commit");
    let sha = staged.sha256.clone();
    store.release(staged).await;
    sha
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("a directory").flatten() {
            if entry.file_type().expect("a type").is_dir() {
                dirs.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

#[tokio::test]
async fn a_blob_of_several_parts_is_uploaded_in_parts_and_reads_back_exactly() {
    let server = S3Server::start().await;
    let store = server.store();
    let len = 20 * 1024 * 1024 + 123;
    let bytes = pattern(len);

    let staged = store.stage(generated(len), len).await.expect("staged");
    assert_eq!(staged.size, len);
    assert_eq!(
        staged.sha256,
        Sha256::from_digest(&sha2::Sha256::digest(&bytes).into())
    );
    store.commit(&staged).await.expect("commit");
    let sha = staged.sha256.clone();
    store.release(staged).await;

    assert!(read_all(store.open(&sha, None).await.expect("open")).await == bytes);
    assert!(
        server.pending_parts().is_empty(),
        "{:?}",
        server.pending_parts()
    );
}

#[tokio::test]
async fn a_range_across_a_part_boundary_is_exactly_that_range() {
    let server = S3Server::start().await;
    let store = server.store();
    let len = 3 * PART_BYTES as u64 / 2;
    let bytes = pattern(len);
    let sha = stored(&store, len).await;

    let boundary = PART_BYTES as u64;
    for range in [
        ByteRange {
            first: boundary - 100,
            last: boundary + 99,
        },
        ByteRange {
            first: boundary,
            last: len - 1,
        },
        ByteRange { first: 0, last: 0 },
        ByteRange {
            first: len - 1,
            last: len - 1,
        },
    ] {
        let read = read_all(store.open(&sha, Some(range)).await.expect("open")).await;
        let (first, last) = (range.first as usize, range.last as usize);
        assert!(read == bytes[first..=last], "{range:?}");
    }
}

#[tokio::test]
async fn too_many_bytes_after_parts_were_sent_leave_no_parts_and_no_staged_copy() {
    let server = S3Server::start().await;
    let store = server.store();

    let refused = store
        .stage(generated(3 * PART_BYTES as u64), 2 * PART_BYTES as u64 + 1)
        .await;

    assert!(matches!(refused, Err(BlobError::TooLarge)), "{refused:?}");
    assert!(
        server.pending_parts().is_empty(),
        "{:?}",
        server.pending_parts()
    );
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert_eq!(store.sweep_staging(later).await.expect("sweep"), 0);
    assert!(files_under(&server.bucket_dir()).is_empty());
}

#[tokio::test]
async fn a_source_failing_mid_upload_leaves_no_parts_and_no_staged_copy() {
    let server = S3Server::start().await;
    let store = server.store();
    let source = Box::new(Generated {
        len: 4 * PART_BYTES as u64,
        at: 0,
        chunk: 64 * 1024,
        fail_after: Some(2 * PART_BYTES as u64 + 5),
    });

    let failed = store.stage(source, u64::MAX).await;

    assert!(matches!(failed, Err(BlobError::Source(_))), "{failed:?}");
    assert!(
        server.pending_parts().is_empty(),
        "{:?}",
        server.pending_parts()
    );
    assert!(files_under(&server.bucket_dir()).is_empty());
}

#[tokio::test]
async fn staged_copies_and_blobs_live_under_the_prefix_and_stores_with_other_prefixes_do_not_see_them()
 {
    let server = S3Server::start().await;
    let store = S3BlobStore::new(S3Config {
        prefix: Some("/tenant/a/".to_owned()),
        ..server.config()
    })
    .expect("a store");
    let other = S3BlobStore::new(S3Config {
        prefix: Some("tenant/b".to_owned()),
        ..server.config()
    })
    .expect("a store");

    let staged = store.stage(generated(10), 10).await.expect("staged");
    assert!(
        staged.handle.starts_with("tenant/a/staging/"),
        "{}",
        staged.handle
    );
    store.commit(&staged).await.expect("commit");
    let sha = staged.sha256.clone();
    store.release(staged).await;

    let hex = sha.as_str();
    let expected =
        server
            .bucket_dir()
            .join(format!("tenant/a/blobs/{}/{}/{hex}", &hex[..2], &hex[2..4]));
    assert_eq!(files_under(&server.bucket_dir()), vec![expected]);
    assert!(!other.exists(&sha).await.expect("exists"));
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    assert!(other.list_older(later, 10).await.expect("list").is_empty());
    assert_eq!(store.list_older(later, 10).await.expect("list"), vec![sha]);
}

#[tokio::test]
async fn refused_credentials_are_an_error_not_a_panic() {
    let server = S3Server::start().await;
    let store = S3BlobStore::new(S3Config {
        secret_access_key: "not-the-secret".to_owned(),
        ..server.config()
    })
    .expect("a store (nothing is sent yet)");
    let sha = Sha256::from_digest(&[7; 32]);

    assert!(matches!(
        store.check().await,
        Err(BlobError::Infra(InfraError::Unexpected(_)))
    ));
    let staged = store.stage(generated(100), 1000).await;
    assert!(
        matches!(staged, Err(BlobError::Infra(InfraError::Unexpected(_)))),
        "{staged:?}"
    );
    assert!(matches!(store.exists(&sha).await, Err(BlobError::Infra(_))));
    assert!(matches!(
        store.open(&sha, None).await,
        Err(BlobError::Infra(_))
    ));
    assert!(server.store().check().await.is_ok());
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port")
        .local_addr()
        .expect("an address")
        .port();
    let store = S3BlobStore::new(S3Server::config_for(&format!("http://127.0.0.1:{port}")))
        .expect("a store");

    let checked = store.check().await;

    assert!(
        matches!(checked, Err(BlobError::Infra(InfraError::Unavailable(_)))),
        "{checked:?}"
    );
}

#[tokio::test]
async fn a_configuration_that_cannot_work_is_refused_at_once() {
    let good = S3Server::config_for("http://127.0.0.1:1");
    for bad in [
        S3Config {
            bucket: " ".to_owned(),
            ..good.clone()
        },
        S3Config {
            allow_http: false,
            ..good.clone()
        },
        S3Config {
            endpoint: Some("127.0.0.1:9000".to_owned()),
            ..good.clone()
        },
        S3Config {
            prefix: Some("a//b".to_owned()),
            ..good.clone()
        },
        S3Config {
            prefix: Some("a/../b".to_owned()),
            ..good.clone()
        },
    ] {
        assert!(
            matches!(S3BlobStore::new(bad.clone()), Err(BlobError::Infra(_))),
            "{bad:?}"
        );
    }
    assert!(S3BlobStore::new(good).is_ok());
}

#[tokio::test]
async fn the_secret_is_never_printed() {
    let config = S3Server::config_for("http://127.0.0.1:1");
    let store = S3BlobStore::new(config.clone()).expect("a store");

    let printed = format!("{config:?} {store:?}");

    assert!(!printed.contains(SECRET_KEY), "{printed}");
    assert!(printed.contains(ACCESS_KEY), "{printed}");
}

/// A TCP proxy to `upstream` that cuts each connection after `budget`
/// bytes came back through it; it counts the connections.
async fn cutting_proxy(
    upstream: String,
    budget: usize,
) -> (String, Arc<AtomicUsize>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let address = format!("http://{}", listener.local_addr().expect("an address"));
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::Relaxed);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut left = budget;
                let mut buffer = vec![0; 16 * 1024];
                while left > 0 {
                    let want = buffer.len().min(left);
                    match server_read.read(&mut buffer[..want]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client_write.write_all(&buffer[..n]).await.is_err() {
                                break;
                            }
                            left -= n;
                        }
                    }
                }
                up.abort();
            });
        }
    });
    (address, connections, task)
}

#[tokio::test]
async fn a_read_broken_again_and_again_resumes_where_it_stopped() {
    let server = S3Server::start().await;
    let len = 5 * 1024 * 1024;
    let bytes = pattern(len);
    let sha = stored(&server.store(), len).await;
    let (endpoint, connections, proxy) = cutting_proxy(server.endpoint.clone(), 256 * 1024).await;
    let store = S3BlobStore::new(S3Server::config_for(&endpoint)).expect("a store");

    let range = ByteRange {
        first: 1000,
        last: len - 1001,
    };
    let read = read_all(store.open(&sha, Some(range)).await.expect("open")).await;

    proxy.abort();
    assert!(read == bytes[1000..(len - 1000) as usize]);
    // One GET and object_store's own three retries would be 4 connections:
    // more means the store resumed the read itself, again and again.
    let connections = connections.load(Ordering::Relaxed);
    assert!(connections > 10, "{connections} connections");
}

/// Bytes that arrive until `stall_at`, then never again (a client that
/// stopped sending); `stalled` is notified then.
struct Stalling {
    inner: Generated,
    stall_at: u64,
    stalled: Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl ChunkSource for Stalling {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        if self.inner.at >= self.stall_at {
            self.stalled.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.next_chunk().await
    }
}

#[tokio::test]
async fn a_stage_given_up_midway_aborts_its_multipart_upload() {
    let server = S3Server::start().await;
    let store = server.store();
    let stalled = Arc::new(tokio::sync::Notify::new());
    let source = Box::new(Stalling {
        inner: Generated {
            len: 4 * PART_BYTES as u64,
            at: 0,
            chunk: 64 * 1024,
            fail_after: None,
        },
        stall_at: 2 * PART_BYTES as u64 + 5,
        stalled: Arc::clone(&stalled),
    });

    tokio::select! {
        staged = store.stage(source, u64::MAX) => panic!("a stalled source finished: {staged:?}"),
        () = stalled.notified() => {}
    }
    assert!(
        !server.pending_parts().is_empty(),
        "a multipart upload was under way"
    );

    // The abort runs in the background: give it a moment.
    for _ in 0..100 {
        if server.pending_parts().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        server.pending_parts().is_empty(),
        "{:?}",
        server.pending_parts()
    );
    assert!(files_under(&server.bucket_dir()).is_empty());
}

/// `len` bytes staged, committed and read back, with the rates printed.
async fn measure(name: &str, store: &dyn BlobStore, len: u64) {
    let mib = len as f64 / (1024.0 * 1024.0);
    let started = Instant::now();
    let staged = store.stage(generated(len), len).await.expect("staged");
    let staging = started.elapsed();
    store.commit(&staged).await.expect("commit");
    let uploaded = started.elapsed();
    let sha = staged.sha256.clone();
    store.release(staged).await;

    let started = Instant::now();
    let mut body = store.open(&sha, None).await.expect("open");
    let mut hasher = sha2::Sha256::new();
    let mut read = 0u64;
    while let Some(chunk) = body.next_chunk().await.expect("read") {
        read += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let downloaded = started.elapsed();
    assert_eq!(read, len);
    assert_eq!(Sha256::from_digest(&hasher.finalize().into()), sha);

    println!(
        "{name}, {mib:.0} MiB: stage {:.0} MiB/s ({:.2} s), stage+commit {:.0} MiB/s \
         ({:.2} s), read {:.0} MiB/s ({:.2} s)",
        mib / staging.as_secs_f64(),
        staging.as_secs_f64(),
        mib / uploaded.as_secs_f64(),
        uploaded.as_secs_f64(),
        mib / downloaded.as_secs_f64(),
        downloaded.as_secs_f64(),
    );
}

/// Peak resident memory of this process (client and server), from
/// `/proc`.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
async fn s3_throughput_of_a_256_mib_blob_through_an_in_process_server() {
    let server = S3Server::start().await;
    let store = server.store();
    // A warm-up: connections, page cache.
    measure("S3 (warm-up)", &store, 16 * 1024 * 1024).await;

    measure("S3", &store, 256 * 1024 * 1024).await;
    let s3_peak = peak_rss_mib();

    // The same through the local store, for what the harness itself
    // costs (making the bytes, hashing them twice, the disk).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let local = missive_infra::LocalBlobStore::new(dir.path()).expect("a local store");
    measure("local", &local, 256 * 1024 * 1024).await;

    println!("peak RSS of the test process after the S3 runs: {s3_peak:?} MiB");
}
