//! Typed identifiers. Each is a UUID v7, so ids sort by creation time, and a
//! `UserId` can never be passed where a `ChatId` is expected.

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, time-ordered (v7) id.
            #[expect(clippy::new_without_default, reason = "a new id is not a default value")]
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Wraps an existing UUID (read from storage or a request).
            pub const fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Identifies a [`crate::user::User`].
    UserId
);
id_type!(
    /// Identifies an [`crate::api_key::ApiKey`].
    ApiKeyId
);
id_type!(
    /// Identifies a [`crate::chat::Chat`].
    ChatId
);
id_type!(
    /// Identifies a [`crate::message::Message`].
    MessageId
);
id_type!(
    /// Identifies an [`crate::upload::Upload`].
    UploadId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_time_ordered() {
        let first = UserId::new();
        let second = UserId::new();
        assert_eq!(first.as_uuid().get_version_num(), 7);
        assert!(first < second);
    }

    #[test]
    fn ids_round_trip_through_strings() {
        let id = ApiKeyId::new();
        let parsed: ApiKeyId = id.to_string().parse().expect("a printed id parses");
        assert_eq!(parsed, id);
        assert!("not-a-uuid".parse::<ApiKeyId>().is_err());
    }
}
