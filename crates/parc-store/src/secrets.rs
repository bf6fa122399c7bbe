//! Secrets: argon2id password hashes, hashed API/session tokens, and encryption at rest for
//! secrets that must be shown again (PUK codes), with ChaCha20-Poly1305.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// Encrypts and decrypts secrets stored in the database. The key lives outside the database
/// (a file in the data directory, or the configuration for several nodes).
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

const PREFIX: &str = "v1:";

impl Cipher {
    pub fn new(key: [u8; 32]) -> Self {
        Cipher { key }
    }

    /// A fresh random key.
    pub fn generate_key() -> [u8; 32] {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        k
    }

    /// Parses a key written as base64 (44 characters) or hex (64 characters).
    pub fn parse_key(text: &str) -> Result<[u8; 32]> {
        let t = text.trim();
        let bytes = if t.len() == 64 {
            hex::decode(t).map_err(|e| StoreError::Config(format!("secret key: {e}")))?
        } else {
            STANDARD.decode(t).map_err(|e| StoreError::Config(format!("secret key: {e}")))?
        };
        bytes.try_into().map_err(|_| StoreError::Config("secret key must be 32 bytes".into()))
    }

    pub fn key_to_text(key: &[u8; 32]) -> String {
        STANDARD.encode(key)
    }

    pub fn encrypt(&self, plain: &str) -> Result<String> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| StoreError::Crypto("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}", STANDARD.encode(blob)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String> {
        let b64 = stored.strip_prefix(PREFIX).ok_or_else(|| StoreError::Crypto("unknown secret format".into()))?;
        let blob = STANDARD.decode(b64).map_err(|_| StoreError::Crypto("corrupt secret".into()))?;
        if blob.len() < 12 {
            return Err(StoreError::Crypto("corrupt secret".into()));
        }
        let (nonce, ct) = blob.split_at(12);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| StoreError::Crypto("cannot decrypt: wrong secret key for this database?".into()))?;
        String::from_utf8(plain).map_err(|_| StoreError::Crypto("corrupt secret".into()))
    }
}

/// A random token with `bytes` bytes of entropy, URL-safe.
pub fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 of a high-entropy token (sessions, API tokens): enough, since the token itself is
/// random; passwords use argon2id instead.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An argon2id hash in PHC format. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Crypto(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored PHC hash. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so that timing does not reveal
/// whether a login is known.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("parc-dummy-password").unwrap_or_default())
}

/// Password policy: long enough, not absurdly long.
pub fn check_password_policy(password: &str) -> std::result::Result<(), &'static str> {
    let n = password.chars().count();
    if n < 10 {
        Err("password_short")
    } else if n > 256 {
        Err("too_long")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_round_trip() {
        let c = Cipher::new(Cipher::generate_key());
        let e1 = c.encrypt("12345678").unwrap();
        let e2 = c.encrypt("12345678").unwrap();
        assert_ne!(e1, e2, "nonces differ");
        assert!(!e1.contains("12345678"));
        assert_eq!(c.decrypt(&e1).unwrap(), "12345678");
        let other = Cipher::new(Cipher::generate_key());
        assert!(other.decrypt(&e1).is_err());
        let key = Cipher::generate_key();
        assert_eq!(Cipher::parse_key(&Cipher::key_to_text(&key)).unwrap(), key);
    }

    #[test]
    fn passwords() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(check_password_policy("short").is_err());
        assert!(check_password_policy("long enough pass").is_ok());
    }

    #[test]
    fn tokens() {
        let t = random_token(32);
        assert_eq!(t.len(), 43);
        assert_ne!(random_token(32), t);
        assert_eq!(token_hash("a").len(), 64);
    }
}
