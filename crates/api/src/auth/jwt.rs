//! HS256 access tokens with `sub`, `iat` and `exp`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use missive_domain::ids::UserId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Signing and verification keys plus the token lifetime.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: uuid::Uuid,
    iat: i64,
    exp: i64,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The user it was issued to.
    pub user: UserId,
    /// When it stops being valid (its `exp`).
    pub expires_at: OffsetDateTime,
}

/// The token was not accepted (bad signature, algorithm, shape, or expired).
#[derive(Debug, thiserror::Error)]
#[error("invalid access token")]
pub struct InvalidToken;

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        // Only HS256: tokens claiming `none`, HS384 or an asymmetric
        // algorithm are refused before their signature is looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// A token for `user`, valid for the configured lifetime.
    ///
    /// # Errors
    /// Only if signing fails, which HMAC cannot do in practice.
    pub fn issue(&self, user: UserId) -> Result<AccessToken, jsonwebtoken::errors::Error> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(self.ttl_secs).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user.as_uuid(),
            iat: now,
            exp: now.saturating_add(ttl),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(AccessToken {
            token,
            expires_in: self.ttl_secs,
        })
    }

    /// The user a token was issued to, and until when it is valid.
    ///
    /// # Errors
    /// [`InvalidToken`] for anything but an unexpired HS256 token signed
    /// with our secret.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, InvalidToken> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| InvalidToken)?
            .claims;
        // RFC 7519: refused *on or after* `exp`. The library refuses only
        // after it (exp < now), which let a token live through the second
        // its WebSocket was closed in.
        if claims.exp <= OffsetDateTime::now_utc().unix_timestamp() {
            return Err(InvalidToken);
        }
        Ok(VerifiedToken {
            user: UserId::from_uuid(claims.sub),
            expires_at: OffsetDateTime::from_unix_timestamp(claims.exp)
                .map_err(|_| InvalidToken)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn an_issued_token_verifies_to_its_user() {
        let keys = JwtKeys::new(SECRET, 60);
        let user = UserId::new();
        let token = keys.issue(user).expect("issue");
        assert_eq!(token.expires_in, 60);
        let verified = keys.verify(&token.token).expect("valid");
        assert_eq!(verified.user, user);
        let lifetime = verified.expires_at - OffsetDateTime::now_utc();
        assert!(
            lifetime <= time::Duration::seconds(60) && lifetime > time::Duration::seconds(55),
            "{lifetime}"
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let other = JwtKeys::new(b"another secret that is long enough!!", 60);
        let token = other.issue(UserId::new()).expect("issue");
        assert!(JwtKeys::new(SECRET, 60).verify(&token.token).is_err());
    }

    #[test]
    fn expired_and_non_hs256_tokens_are_refused() {
        let keys = JwtKeys::new(SECRET, 60);
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let expired = Claims {
            sub: uuid::Uuid::now_v7(),
            iat: now - 100,
            exp: now - 1,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &expired, &keys.encoding)
            .expect("encode");
        assert!(keys.verify(&token).is_err());
        let expiring_now = Claims {
            sub: uuid::Uuid::now_v7(),
            iat: now - 100,
            exp: now,
        };
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &expiring_now,
            &keys.encoding,
        )
        .expect("encode");
        assert!(keys.verify(&token).is_err(), "refused on its exp already");

        let fresh = Claims {
            sub: uuid::Uuid::now_v7(),
            iat: now,
            exp: now + 60,
        };
        let hs384 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS384),
            &fresh,
            &EncodingKey::from_secret(SECRET),
        )
        .expect("encode");
        assert!(keys.verify(&hs384).is_err());
        assert!(keys.verify("garbage").is_err());
    }
}
