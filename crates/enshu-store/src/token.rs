//! Team access tokens: generated here, stored only as SHA-256.
//!
//! Tokens are long random strings, not passwords, so a fast unsalted hash
//! is enough: nobody can brute-force 256 random bits, and a leaked database
//! then hands out no working tokens.

use sha2::{Digest, Sha256};

/// The hex SHA-256 the store keeps for `token`.
pub fn hash_team_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh token: 32 random bytes from the operating system, hex-encoded.
pub fn generate_team_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash_team_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn generated_tokens_differ_and_are_64_hex_digits() {
        let first = generate_team_token().unwrap();
        let second = generate_team_token().unwrap();
        assert_ne!(first, second);
        assert_eq!(first.len(), 64);
        assert!(first.chars().all(|character| character.is_ascii_hexdigit()));
    }
}
