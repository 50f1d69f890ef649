//! API-key secrets: `msv_` followed by 32 bytes from the operating system's
//! CSPRNG, URL-safe base64 without padding; stored as hex SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use missive_domain::api_key::{ApiKeyHash, ApiKeySecret, MintedApiKey};
use missive_domain::ports::ApiKeyMinter;
use sha2::{Digest, Sha256};

/// Every secret starts with this, so leaked keys are easy to recognise
/// (secret scanners, logs).
pub const KEY_PREFIX: &str = "msv_";
/// Random bytes per secret (256 bits).
const SECRET_BYTES: usize = 32;
/// Characters of the secret kept as its displayable prefix.
const DISPLAY_PREFIX_CHARS: usize = KEY_PREFIX.len() + 8;

/// [`ApiKeyMinter`] using `getrandom` and SHA-256. A fast hash is right here:
/// the secret has 256 bits of entropy, so nothing can be guessed from the
/// digest, and authentication must stay cheap on every request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sha256KeyMinter;

impl ApiKeyMinter for Sha256KeyMinter {
    fn mint(&self) -> MintedApiKey {
        let mut bytes = [0u8; SECRET_BYTES];
        // The OS generator failing leaves no safe way to make a secret;
        // this is not on a request path that could recover.
        #[expect(clippy::expect_used, reason = "no secure fallback exists")]
        getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
        let secret = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        MintedApiKey {
            prefix: secret[..DISPLAY_PREFIX_CHARS].to_owned(),
            hash: self.digest(&secret),
            secret: ApiKeySecret::new(secret),
        }
    }

    fn digest(&self, secret: &str) -> ApiKeyHash {
        let digest = Sha256::digest(secret.as_bytes());
        let hex = digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        ApiKeyHash::new(hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_long_url_safe_and_distinct() {
        let first = Sha256KeyMinter.mint();
        let second = Sha256KeyMinter.mint();
        let secret = first.secret.expose();
        assert!(secret.starts_with("msv_"));
        assert_eq!(secret.len(), 4 + 43, "32 bytes in unpadded base64");
        assert!(
            secret[4..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(first.secret, second.secret);
        assert!(secret.starts_with(&first.prefix));
    }

    #[test]
    fn the_digest_is_hex_sha256_and_deterministic() {
        let minted = Sha256KeyMinter.mint();
        assert_eq!(minted.hash, Sha256KeyMinter.digest(minted.secret.expose()));
        assert_eq!(
            Sha256KeyMinter.digest("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
