//! Attachments of messages being sent: the rule that a message has text
//! or files, and the check that each file is one of the sender's uploads.

use super::{MessageError, MessageService, SendMessage, invalid};
use crate::ids::UserId;
use crate::message::MessageContent;
use crate::upload::{AttachmentIds, Upload};

impl MessageService {
    /// The caller's uploads each `(ids, prefix)` attaches, in their order,
    /// read in one query; an id that is not the caller's upload (unknown,
    /// expired, someone else's) is refused naming `{prefix}attachments`.
    pub(super) async fn own_uploads(
        &self,
        caller: UserId,
        lists: &[(&AttachmentIds, String)],
    ) -> Result<Vec<Vec<Upload>>, MessageError> {
        let mut wanted: Vec<_> = lists
            .iter()
            .flat_map(|(ids, _)| ids.ids().iter().copied())
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let found: std::collections::HashMap<_, Upload> = self
            .uploads
            .find_owned(caller, &wanted)
            .await?
            .into_iter()
            .map(|upload| (upload.id, upload))
            .collect();
        lists
            .iter()
            .map(|(ids, prefix)| {
                ids.ids()
                    .iter()
                    .map(|id| {
                        found.get(id).cloned().ok_or_else(|| {
                            invalid(
                                format!("{prefix}attachments"),
                                format!("{id} is not one of your uploads"),
                            )
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

/// A message needs content or at least one attachment; `prefix` names the
/// batch item.
pub(super) fn check_not_blank(request: &SendMessage, prefix: &str) -> Result<(), MessageError> {
    if request.content.is_empty() && request.attachments.is_empty() {
        Err(invalid(
            format!("{prefix}content"),
            MessageContent::EMPTY_NEEDS_ATTACHMENTS,
        ))
    } else {
        Ok(())
    }
}

/// An attached upload was collected between its check and the append.
pub(super) fn upload_gone(prefix: &str) -> MessageError {
    invalid(
        format!("{prefix}attachments"),
        "an upload expired while the message was sent; upload it again",
    )
}
