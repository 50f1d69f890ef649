//! The blob store contract (`missive_domain::testkit::blobs`) on S3 over
//! HTTP: an in-process S3 server, a fresh one for each rule. The local
//! file-system store runs it with the rest of the shared suite
//! (`suite.rs`); S3's own rules (multipart parts, ranges across them,
//! broken reads) are in `s3.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use missive_domain::testkit::{Adapters, Fixture, Hooks, Suite};
use missive_infra::scratch::fresh_database;

use crate::s3::S3Server;
use crate::suite::adapters_over;

/// SQLite adapters whose blobs live on a fresh in-process S3 server.
struct S3Fixture;

/// Keeps the S3 server, the database's directory and the adapters' own
/// hooks alive.
struct S3Hooks {
    _server: S3Server,
    _dir: tempfile::TempDir,
    inner: Arc<dyn Hooks>,
}

#[async_trait]
impl Hooks for S3Hooks {
    async fn settle(&self) {
        self.inner.settle().await;
    }
}

#[async_trait]
impl Fixture for S3Fixture {
    async fn fresh(&self) -> Adapters {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = fresh_database(dir.path(), None, 4)
            .await
            .expect("a fresh database");
        let server = S3Server::start().await;
        let adapters = adapters_over(&db);
        Adapters {
            blobs: Arc::new(server.store()),
            hooks: Arc::new(S3Hooks {
                _server: server,
                _dir: dir,
                inner: adapters.hooks.clone(),
            }),
            ..adapters
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_keeps_the_blob_contract() {
    Suite::new()
        .only("blobs::")
        .run(&S3Fixture)
        .await
        .assert_passed();
}
