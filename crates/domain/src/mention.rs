//! Mentions (SPEC §4.6): a message names up to [`MAX`] members it is
//! addressed to (`mentions`), or — sent by a group's owner or admin —
//! everyone in the group (`mention_all`). Each mentioned member's chat
//! view counts the mentions of them they have not read past
//! (`mention_count`), and `GET /mentions` lists them, newest first.
//!
//! Design: besides the list kept on the message, one row per mentioned
//! member (`mention_all` expands to the members of the moment, the sender
//! excepted; mentioning oneself notifies nobody) is written in the send's
//! own transaction, so counting and listing are index ranges; a deletion
//! drops the rows, an edit by the sender replaces them.

use crate::ids::UserId;
use crate::value::ValueError;

/// Most members one message mentions by name.
pub const MAX: usize = 50;

/// The members a message mentions: distinct, in the order given, at most
/// [`MAX`]. Whether they are members of the chat is the use case's to
/// check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mentions(Vec<UserId>);

impl Mentions {
    /// Checks a client's list; repeated ids count once.
    ///
    /// # Errors
    /// [`ValueError`] with more than [`MAX`] distinct users.
    pub fn new(users: Vec<UserId>) -> Result<Self, ValueError> {
        let mut distinct = Vec::with_capacity(users.len().min(MAX));
        for user in users {
            if !distinct.contains(&user) {
                if distinct.len() == MAX {
                    return Err(ValueError::new(format!(
                        "must name at most {MAX} different users"
                    )));
                }
                distinct.push(user);
            }
        }
        Ok(Self(distinct))
    }

    /// A stored list (checked when it was stored).
    pub fn from_stored(users: Vec<UserId>) -> Self {
        Self(users)
    }

    /// The users.
    pub fn users(&self) -> &[UserId] {
        &self.0
    }

    /// Whether nobody is mentioned.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_count_once_and_the_order_is_kept() {
        let (a, b) = (UserId::new(), UserId::new());
        let mentions = Mentions::new(vec![b, a, b, a]).expect("valid");
        assert_eq!(mentions.users(), [b, a]);
    }

    #[test]
    fn fifty_distinct_users_at_most() {
        let fifty: Vec<UserId> = (0..MAX).map(|_| UserId::new()).collect();
        let mut with_repeats = fifty.clone();
        with_repeats.extend(fifty.iter().copied());
        assert_eq!(
            Mentions::new(with_repeats).expect("valid").users().len(),
            MAX
        );
        let mut too_many = fifty;
        too_many.push(UserId::new());
        assert!(Mentions::new(too_many).is_err());
    }
}
