//! argon2id password hashing, off the async runtime, with bounded
//! concurrency.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::PasswordHasher as _;
use argon2::{Algorithm, Argon2, Params, PasswordHash as PhcHash, PasswordVerifier, Version};
use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ports::PasswordHasher;
use missive_domain::user::{Password, PasswordHash};

/// [`PasswordHasher`] with argon2id and OWASP's recommended parameters
/// (19 MiB memory, 2 iterations, 1 lane). Each hash or verification runs on
/// tokio's blocking pool so it never stalls other requests, and at most
/// `concurrency` run at once: each takes 19 MiB, so unbounded logins
/// would exhaust memory long before CPU (25 at once exceed a 512 MiB pod).
/// A caller that waits longer than `wait` for a slot gets
/// [`InfraError::Unavailable`] (a 503 with `Retry-After`).
#[derive(Clone)]
pub struct Argon2Hasher {
    inner: Arc<Inner>,
    slots: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

/// All hashing slots stayed busy for the whole wait.
#[derive(Debug, thiserror::Error)]
#[error("password hashing is saturated; retry shortly")]
pub struct HashingBusy;

struct Inner {
    argon2: Argon2<'static>,
    /// Verified against when the user does not exist, so an unknown e-mail
    /// costs the same time as a wrong password.
    dummy_hash: String,
}

impl Argon2Hasher {
    /// A hasher with OWASP parameters.
    ///
    /// # Errors
    /// [`InfraError`] if the parameters are rejected (they are constants, so
    /// only a broken build could fail here).
    pub fn new() -> Result<Self, InfraError> {
        Self::with_params(Params::DEFAULT)
    }

    /// Limits hashing to `concurrency` at once (0: one per CPU core), each
    /// caller waiting at most `wait` for its turn.
    #[must_use]
    pub fn bounded(mut self, concurrency: usize, wait: Duration) -> Self {
        let concurrency = if concurrency == 0 {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        } else {
            concurrency
        };
        self.slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
        self.wait = wait;
        self
    }

    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, InfraError> {
        match tokio::time::timeout(self.wait, Arc::clone(&self.slots).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(InfraError::unexpected(closed)),
            Err(_) => Err(InfraError::Unavailable(Box::new(HashingBusy))),
        }
    }

    fn with_params(params: Params) -> Result<Self, InfraError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon2
            .hash_password(b"missive dummy password")
            .map_err(InfraError::unexpected)?
            .to_string();
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Ok(Self {
            inner: Arc::new(Inner { argon2, dummy_hash }),
            slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            wait: Duration::from_secs(3),
        })
    }
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher").finish_non_exhaustive()
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError> {
        let inner = Arc::clone(&self.inner);
        let password = password.expose().to_owned();
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            inner
                .argon2
                .hash_password(password.as_bytes())
                .map(|phc| PasswordHash::new(phc.to_string()))
                .map_err(InfraError::unexpected)
        })
        .await
        .map_err(InfraError::unexpected)?
    }

    async fn verify<'a>(
        &self,
        password: &str,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, InfraError> {
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let known = hash.is_some();
        let phc = hash.map(|h| h.as_str().to_owned());
        let slot = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let phc = phc.as_deref().unwrap_or(&inner.dummy_hash);
            let parsed = PhcHash::new(phc).map_err(InfraError::unexpected)?;
            let matches = inner
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await
        .map_err(InfraError::unexpected)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast_hasher() -> Argon2Hasher {
        Argon2Hasher::with_params(Params::new(8, 1, 1, None).expect("valid params"))
            .expect("hasher")
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let hasher = fast_hasher();
        let password = Password::new("correct horse").expect("valid");

        let first = hasher.hash(&password).await.expect("hash");
        let second = hasher.hash(&password).await.expect("hash");

        assert!(first.as_str().starts_with("$argon2id$"));
        assert_ne!(first, second, "each hash has its own salt");
        assert!(
            hasher
                .verify("correct horse", Some(&first))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse", Some(&first))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn verifying_without_a_hash_is_always_false() {
        let hasher = fast_hasher();
        assert!(
            !hasher
                .verify("missive dummy password", None)
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn a_caller_that_waits_too_long_for_a_slot_is_told_to_come_back() {
        let hasher = fast_hasher().bounded(1, Duration::from_millis(50));
        let held = hasher.slot().await.expect("the only slot");

        let refused = hasher.verify("x", None).await;

        assert!(
            matches!(refused, Err(InfraError::Unavailable(_))),
            "{refused:?}"
        );
        drop(held);
        assert!(
            !hasher
                .verify("x", None)
                .await
                .expect("a slot is free again")
        );
    }

    #[tokio::test]
    async fn no_more_than_the_bound_hash_at_once() {
        let hasher = fast_hasher().bounded(2, Duration::from_secs(30));
        let busiest = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let hasher = hasher.clone();
                let busiest = Arc::clone(&busiest);
                tokio::spawn(async move {
                    let _slot = hasher.slot().await.expect("slot");
                    let in_use = 2 - hasher.slots.available_permits();
                    busiest.fetch_max(in_use, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(busiest.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn default_parameters_are_owasps() {
        let params = Params::DEFAULT;
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (19 * 1024, 2, 1)
        );
    }
}
