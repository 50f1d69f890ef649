//! How many uploads run at once, per user and in all. An upload holds
//! buffers while it streams (S3's multipart parts: up to ~24 MiB), disk
//! for its staged copy, and, for an image, a turn at the previewer; the
//! limits bound what a few clients can make the server hold. Past them
//! an upload is 429 with `Retry-After`, before any byte is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use missive_domain::ids::UserId;

/// The slots; see the module docs.
#[derive(Debug)]
pub struct UploadSlots {
    per_user: usize,
    total: usize,
    taken: Mutex<Taken>,
}

#[derive(Debug, Default)]
struct Taken {
    total: usize,
    by_user: HashMap<UserId, usize>,
}

/// A slot held for one upload; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<UploadSlots>,
    user: UserId,
}

impl UploadSlots {
    /// At most `per_user` uploads of one user and `total` of everyone at once.
    pub fn new(per_user: usize, total: usize) -> Arc<Self> {
        Arc::new(Self {
            per_user,
            total,
            taken: Mutex::new(Taken::default()),
        })
    }

    /// A slot for `user`, unless they (or everyone) have all there are.
    pub fn try_take(self: &Arc<Self>, user: UserId) -> Option<Slot> {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = taken.by_user.get(&user).copied().unwrap_or(0);
        if mine >= self.per_user || taken.total >= self.total {
            return None;
        }
        taken.total += 1;
        taken.by_user.insert(user, mine + 1);
        Some(Slot {
            slots: Arc::clone(self),
            user,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self
            .slots
            .taken
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        taken.total = taken.total.saturating_sub(1);
        if let Some(mine) = taken.by_user.get_mut(&self.user) {
            *mine -= 1;
            if *mine == 0 {
                taken.by_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_user_and_in_all_and_come_back_when_dropped() {
        let slots = UploadSlots::new(2, 3);
        let (ada, bob) = (UserId::new(), UserId::new());
        let a1 = slots.try_take(ada).expect("first");
        let a2 = slots.try_take(ada).expect("second");
        assert!(slots.try_take(ada).is_none(), "a third of one user's");
        let b1 = slots.try_take(bob).expect("bob's first");
        assert!(slots.try_take(bob).is_none(), "over the total");
        drop(a1);
        let b2 = slots.try_take(bob).expect("a slot came back");
        drop((a2, b1, b2));
        assert!(slots.taken.lock().expect("lock").by_user.is_empty());
        assert_eq!(slots.taken.lock().expect("lock").total, 0);
    }
}
