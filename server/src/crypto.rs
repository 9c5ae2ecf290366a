//! Secrets and randomness: tokens, verification codes, keyed hashes, and the Argon2id hasher.
//!
//! Codes and tokens are stored only as keyed hashes (OWASP Forgot Password Cheat Sheet: treat
//! reset tokens like passwords at rest), compared in constant time.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{Rng, RngCore};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// The server's HMAC key, from `PORTAL_SECRET` or generated on first start.
#[derive(Clone)]
pub struct Keys {
    key: Arc<SecretBox<Vec<u8>>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    pub fn new(secret: &SecretString) -> Self {
        Self {
            key: Arc::new(SecretBox::new(Box::new(
                secret.expose_secret().as_bytes().to_vec(),
            ))),
        }
    }

    /// HMAC-SHA256 over the parts, separated unambiguously, as lower-case hex.
    pub fn mac(&self, parts: &[&str]) -> String {
        // The key length is never rejected by HMAC; an empty MAC would fail every comparison.
        let Ok(mut m) = Hmac::<Sha256>::new_from_slice(self.key.expose_secret()) else {
            return String::new();
        };
        for p in parts {
            m.update(&(p.len() as u64).to_be_bytes());
            m.update(p.as_bytes());
        }
        hex::encode(m.finalize().into_bytes())
    }

    /// The stored form of a verification code: bound to its purpose and user, so a stolen table
    /// row cannot be replayed for another user.
    pub fn code_hash(&self, user_id: Option<i64>, code: &str) -> String {
        self.mac(&["reset-code", &user_id.unwrap_or(0).to_string(), code])
    }

    /// The stored form of a bearer token (session, flow, reset link).
    pub fn token_hash(&self, purpose: &str, token: &str) -> String {
        self.mac(&[purpose, token])
    }
}

/// Constant-time equality of two stored hashes.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A 256-bit token from the OS CSPRNG, base64url without padding (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A 6-digit code from the CSPRNG, uniform over 000000..=999999.
pub fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// A new random server secret, for first start.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Argon2id with explicit parameters on a bounded blocking pool: at most `permits` hashes run at
/// once, so a flood of password saves queues instead of exhausting memory, and the async
/// executor never computes a hash itself.
#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<String>,
}

/// OWASP Password Storage Cheat Sheet / ASVS 5.0 11.4.2: Argon2id, 19 MiB, 2 passes, 1 lane.
pub fn default_params() -> Result<Params, argon2::Error> {
    Params::new(19_456, 2, 1, None)
}

impl Hasher {
    pub fn new(concurrency: usize) -> Result<Self, String> {
        let params = default_params().map_err(|e| e.to_string())?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt = SaltString::generate(&mut OsRng);
        // A real hash of a random password: verifying against it costs what a real verify costs,
        // so an unknown email answers as slowly as a known one (zero2prod).
        let dummy = argon
            .hash_password(new_token().as_bytes(), &salt)
            .map_err(|e| e.to_string())?
            .to_string();
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy: Arc::new(dummy),
        })
    }

    fn argon(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let params = self.params.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon(params)
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Does `password` match any of `hashes`? `None` verifies against the dummy hash and is
    /// always false. The hashes' own parameters are used, so older hashes keep working.
    pub async fn verify_any(
        &self,
        password: SecretString,
        hashes: Vec<Option<String>>,
    ) -> Result<bool, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let dummy = self.dummy.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = false;
            for h in hashes {
                let (stored, real) = match &h {
                    Some(s) => (s.as_str(), true),
                    None => (dummy.as_str(), false),
                };
                let Ok(parsed) = PasswordHash::new(stored) else {
                    continue;
                };
                let ok = Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok();
                if ok && real {
                    found = true;
                    break;
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| e.to_string())?
    }

    pub async fn verify(
        &self,
        password: SecretString,
        hash: Option<String>,
    ) -> Result<bool, String> {
        self.verify_any(password, vec![hash]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn tokens_carry_256_bits() {
        let t = new_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, new_token());
    }

    #[test]
    fn code_hashes_bind_the_user() {
        let k = Keys::new(&SecretString::from("x".repeat(32)));
        assert_ne!(
            k.code_hash(Some(1), "123456"),
            k.code_hash(Some(2), "123456")
        );
        assert!(same(
            &k.code_hash(Some(1), "123456"),
            &k.code_hash(Some(1), "123456")
        ));
        // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(k.mac(&["ab", "c"]), k.mac(&["a", "bc"]));
    }

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_with_the_chosen_parameters() {
        let h = Hasher::new(1).unwrap_or_else(|e| panic!("{e}"));
        let hash = h
            .hash(SecretString::from("correct horse battery staple"))
            .await
            .unwrap_or_default();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(h
            .verify(
                SecretString::from("correct horse battery staple"),
                Some(hash.clone())
            )
            .await
            .unwrap_or(false));
        assert!(!h
            .verify(SecretString::from("wrong"), Some(hash))
            .await
            .unwrap_or(true));
        assert!(!h
            .verify(SecretString::from("anything"), None)
            .await
            .unwrap_or(true));
    }
}
