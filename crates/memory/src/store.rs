//! The store every adapter shares, and the set of adapters it hands out.

use std::fmt;
use std::sync::{Arc, Mutex};

use missive_domain::InfraError;
use missive_domain::ports::{
    ApiKeyRepository, BlobStore, ChangeLog, ChatRepository, MessageRepository, PinRepository,
    ReactionRepository, UploadRepository, UserRepository,
};
use tokio::sync::Notify;

use crate::blobs::MemoryBlobStore;
use crate::state::State;
use crate::{
    MemoryApiKeyRepository, MemoryChangeLog, MemoryChatRepository, MemoryMessageRepository,
    MemoryPinRepository, MemoryReactionRepository, MemoryUploadRepository, MemoryUserRepository,
};

/// What the clones of a [`MemoryStore`] share.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Woken when a blob's collection ends (an upload of the same bytes
    /// waits for it, as it waits for the blob row's lock in SQL). One
    /// signal for every blob: the end of any collection wakes every
    /// waiting upload, and each looks at the state again and goes back
    /// to waiting if its own bytes are still being collected. Waiters are
    /// few and collections short, so a signal per blob is not worth its
    /// bookkeeping.
    collected: Notify,
}

/// All of Missive's data, in memory: users, keys, chats, messages,
/// reactions, pins, uploads and the change log behind one lock, plus a
/// [`MemoryBlobStore`] for the bytes.
///
/// Cheap to clone; every clone and every adapter it hands out works on the
/// same data. Each operation of each adapter runs under the lock in one
/// step (the lock is never held across an `.await`), so it is atomic
/// exactly as the SQL adapters' transactions are: an append's seq, thread
/// summary, mention rows and change-log entry appear together or not at
/// all, and concurrent callers are serialised.
///
/// Nothing is persisted: the data lives as long as the last clone.
///
/// A panic under the lock (a bug) poisons the store for good: every later
/// call is an [`InfraError`]; drop the store and build a new one.
#[derive(Clone, Default)]
pub struct MemoryStore {
    shared: Arc<Shared>,
    blobs: MemoryBlobStore,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

/// One adapter per port, all over the same [`MemoryStore`], ready for the
/// services (`Arc<dyn Port>`).
#[derive(Clone)]
pub struct MemoryAdapters {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyRepository>,
    /// Chats and memberships.
    pub chats: Arc<dyn ChatRepository>,
    /// Messages.
    pub messages: Arc<dyn MessageRepository>,
    /// Reactions.
    pub reactions: Arc<dyn ReactionRepository>,
    /// Pins.
    pub pins: Arc<dyn PinRepository>,
    /// Upload records.
    pub uploads: Arc<dyn UploadRepository>,
    /// Blob bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// The change log.
    pub changes: Arc<dyn ChangeLog>,
}

impl fmt::Debug for MemoryAdapters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryAdapters").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// A new, empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The [`UserRepository`] over this store.
    #[must_use]
    pub fn users(&self) -> MemoryUserRepository {
        MemoryUserRepository::new(self.clone())
    }

    /// The [`ApiKeyRepository`] over this store.
    #[must_use]
    pub fn api_keys(&self) -> MemoryApiKeyRepository {
        MemoryApiKeyRepository::new(self.clone())
    }

    /// The [`ChatRepository`] over this store.
    #[must_use]
    pub fn chats(&self) -> MemoryChatRepository {
        MemoryChatRepository::new(self.clone())
    }

    /// The [`MessageRepository`] over this store.
    #[must_use]
    pub fn messages(&self) -> MemoryMessageRepository {
        MemoryMessageRepository::new(self.clone())
    }

    /// The [`ReactionRepository`] over this store.
    #[must_use]
    pub fn reactions(&self) -> MemoryReactionRepository {
        MemoryReactionRepository::new(self.clone())
    }

    /// The [`PinRepository`] over this store.
    #[must_use]
    pub fn pins(&self) -> MemoryPinRepository {
        MemoryPinRepository::new(self.clone())
    }

    /// The [`UploadRepository`] over this store.
    #[must_use]
    pub fn uploads(&self) -> MemoryUploadRepository {
        MemoryUploadRepository::new(self.clone())
    }

    /// The [`ChangeLog`] over this store.
    #[must_use]
    pub fn changes(&self) -> MemoryChangeLog {
        MemoryChangeLog::new(self.clone())
    }

    /// The store's [`BlobStore`] (the bytes of uploads; a clone shares
    /// them).
    #[must_use]
    pub fn blobs(&self) -> MemoryBlobStore {
        self.blobs.clone()
    }

    /// Every adapter at once, as the services take them.
    #[must_use]
    pub fn adapters(&self) -> MemoryAdapters {
        MemoryAdapters {
            users: Arc::new(self.users()),
            api_keys: Arc::new(self.api_keys()),
            chats: Arc::new(self.chats()),
            messages: Arc::new(self.messages()),
            reactions: Arc::new(self.reactions()),
            pins: Arc::new(self.pins()),
            uploads: Arc::new(self.uploads()),
            blobs: Arc::new(self.blobs()),
            changes: Arc::new(self.changes()),
        }
    }

    /// Every adapter as the contract suite takes them
    /// ([`missive_domain::testkit::Adapters`], with no hooks): a complete
    /// set to start from when proving an adapter of your own — replace the
    /// field of the port you build, e.g. with a decorator over the memory
    /// one, since all adapters must share one store.
    #[must_use]
    pub fn testkit_adapters(&self) -> missive_domain::testkit::Adapters {
        let ports = self.adapters();
        missive_domain::testkit::Adapters {
            users: ports.users,
            api_keys: ports.api_keys,
            chats: ports.chats,
            messages: ports.messages,
            reactions: ports.reactions,
            pins: ports.pins,
            uploads: ports.uploads,
            blobs: ports.blobs,
            changes: ports.changes,
            hooks: Arc::new(missive_domain::testkit::NoHooks),
        }
    }

    /// Runs `step` on the state under the lock: one atomic operation.
    ///
    /// # Errors
    /// [`InfraError::Unexpected`] when an earlier step panicked under
    /// the lock (the state may be half-changed; nothing more is trusted).
    pub(crate) fn with<T>(&self, step: impl FnOnce(&mut State) -> T) -> Result<T, InfraError> {
        let mut state =
            self.shared.state.lock().map_err(|_| {
                InfraError::unexpected("the in-memory store was poisoned by a panic")
            })?;
        Ok(step(&mut state))
    }

    /// A wake-up for whoever waits for a blob's collection to end; take
    /// it before looking at the state, so none is missed.
    pub(crate) fn collection_ended(&self) -> tokio::sync::futures::Notified<'_> {
        self.shared.collected.notified()
    }

    /// Wakes those waiting for a blob's collection: all of them, whatever
    /// blob they wait for (see [`Shared::collected`]).
    pub(crate) fn end_collection(&self) {
        self.shared.collected.notify_waiters();
    }
}
