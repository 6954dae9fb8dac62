//! Publisher signatures on guest components (optional).
//!
//! # The format
//! - A signature is a detached Ed25519 signature (RFC 8032, pure Ed25519,
//!   no pre-hash, no context) over the exact bytes of the `.wasm` file.
//! - It sits beside the component as `FILE.wasm.sig`, holding either the 64
//!   raw signature bytes or their 128 hex digits (surrounding whitespace
//!   allowed). `hellowatt guest sign` writes hex and a newline.
//! - A public key (what the host trusts) is 64 hex digits: the 32 bytes of
//!   the Ed25519 verifying key. A secret key file (what a publisher keeps)
//!   holds the 32-byte seed as 64 hex digits, written with mode 0600 by
//!   `hellowatt guest keygen`.
//!
//! Any Ed25519 tool can produce a compatible signature (e.g.
//! `openssl pkeyutl -sign -rawin` with an Ed25519 key, then hex-encode).
//!
//! # The rule
//! With no trusted key configured, signatures are not looked at and
//! unsigned guests are accepted. With one or more trusted keys, a guest is
//! accepted only with a signature file that verifies (strictly: no
//! malleable or small-order forms) under one of them.
//!
//! This module verifies and produces signatures; it never decides what runs
//! (the registry does) and never keeps a secret key in memory longer than
//! one signing.

use anyhow::{Context, Result, anyhow, bail};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use std::path::{Path, PathBuf};

/// The signature file of a component: `FILE.wasm` → `FILE.wasm.sig`.
pub fn sig_path(wasm: &Path) -> PathBuf {
    let mut name = wasm.as_os_str().to_os_string();
    name.push(".sig");
    PathBuf::from(name)
}

fn decode_hex_exact<const N: usize>(text: &str, what: &str) -> Result<[u8; N]> {
    let text = text.trim();
    let bytes = hex::decode(text).map_err(|e| anyhow!("{what} is not hex: {e}"))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| {
        anyhow!(
            "{what} must be {} hex digits ({N} bytes), found {} bytes",
            2 * N,
            bytes.len()
        )
    })
}

/// A trusted public key from its 64 hex digits.
pub fn parse_public_key(hex_text: &str) -> Result<VerifyingKey> {
    let bytes: [u8; 32] = decode_hex_exact(hex_text, "an Ed25519 public key")?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| {
        anyhow!(
            "{:?} is not a valid Ed25519 public key: {e}",
            hex_text.trim()
        )
    })
}

/// Every trusted key of the configuration, each named in its error.
pub fn parse_public_keys(keys: &[String]) -> Result<Vec<VerifyingKey>> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| parse_public_key(k).with_context(|| format!("trusted key #{}", i + 1)))
        .collect()
}

/// The hex form of a public key, as the configuration takes it.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// A signature file's contents: 64 raw bytes, or 128 hex digits.
pub fn parse_signature(file: &[u8]) -> Result<Signature> {
    if file.len() == 64 {
        let bytes: [u8; 64] = file
            .try_into()
            .map_err(|_| anyhow!("a signature must be 64 bytes"))?;
        return Ok(Signature::from_bytes(&bytes));
    }
    let text = std::str::from_utf8(file)
        .map_err(|_| anyhow!("a signature file holds 64 raw bytes or 128 hex digits"))?;
    let bytes: [u8; 64] = decode_hex_exact(text, "the signature")?;
    Ok(Signature::from_bytes(&bytes))
}

/// Checks a component against the trusted keys. `Ok(None)`: no key is
/// configured, nothing was checked. `Ok(Some(key))`: the signature verifies
/// under that key (hex). `Err`: the reason a person reads.
pub fn check(
    component: &[u8],
    signature_file: Option<&[u8]>,
    trusted: &[VerifyingKey],
) -> Result<Option<String>> {
    if trusted.is_empty() {
        return Ok(None);
    }
    let Some(file) = signature_file else {
        bail!(
            "no signature: trusted publisher keys are configured, so a guest needs a detached \
             Ed25519 signature beside it (FILE.wasm.sig, see `hellowatt guest sign`)"
        );
    };
    let signature = parse_signature(file).context("the signature file is unreadable")?;
    for key in trusted {
        if key.verify_strict(component, &signature).is_ok() {
            return Ok(Some(public_key_hex(key)));
        }
    }
    bail!(
        "bad signature: it does not verify under any of the {} trusted key(s) \
         (signed by another key, or the file changed after signing)",
        trusted.len()
    )
}

/// A new secret key from the operating system's random source.
pub fn generate() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow!("no randomness available: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes a secret key (64 hex digits and a newline) to a new file that
/// only its owner can read, and the public key beside it (`FILE.pub`).
/// Refuses to overwrite either.
pub fn write_secret_key(path: &Path, key: &SigningKey) -> Result<PathBuf> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let public = {
        let mut p = path.as_os_str().to_os_string();
        p.push(".pub");
        PathBuf::from(p)
    };
    if public.exists() {
        bail!("{} exists already: not overwriting it", public.display());
    }
    let mut file = options.open(path).with_context(|| {
        format!(
            "creating the key file {} (it must not exist yet)",
            path.display()
        )
    })?;
    file.write_all(format!("{}\n", hex::encode(key.to_bytes())).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::write(
        &public,
        format!("{}\n", public_key_hex(&key.verifying_key())),
    )
    .with_context(|| format!("writing {}", public.display()))?;
    Ok(public)
}

/// Reads a secret key file written by [`write_secret_key`].
pub fn read_secret_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    let seed: [u8; 32] = decode_hex_exact(&text, "the secret key")
        .with_context(|| format!("in {}", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Signs a component file and writes `FILE.wasm.sig` (hex and a newline).
pub fn sign_file(key: &SigningKey, wasm: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let signature = key.sign(&bytes);
    let out = sig_path(wasm);
    std::fs::write(&out, format!("{}\n", hex::encode(signature.to_bytes())))
        .with_context(|| format!("writing {}", out.display()))?;
    // A signature that does not verify is worse than none: check it.
    key.verifying_key()
        .verify(&bytes, &signature)
        .map_err(|e| anyhow!("the signature just made does not verify: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_in_both_encodings() {
        let key = generate().unwrap();
        let other = generate().unwrap();
        let trusted = [key.verifying_key()];
        let msg = b"\0asm\r\0\x01\0 a component";
        let sig = key.sign(msg);
        let hex_file = format!("{}\n", hex::encode(sig.to_bytes()));
        assert!(
            check(msg, Some(hex_file.as_bytes()), &trusted)
                .unwrap()
                .is_some()
        );
        assert!(
            check(msg, Some(&sig.to_bytes()), &trusted)
                .unwrap()
                .is_some()
        );
        // No key: nothing checked, even without a signature.
        assert_eq!(check(msg, None, &[]).unwrap(), None);
        let e = check(msg, None, &trusted).unwrap_err().to_string();
        assert!(e.starts_with("no signature"), "{e}");
        let e = check(b"changed", Some(&sig.to_bytes()), &trusted)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad signature"), "{e}");
        let e = check(msg, Some(&other.sign(msg).to_bytes()), &trusted)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad signature"), "{e}");
        let e = format!("{:#}", check(msg, Some(b"zz"), &trusted).unwrap_err());
        assert!(e.contains("unreadable"), "{e}");
    }

    #[test]
    fn keys_round_trip_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publisher.key");
        let key = generate().unwrap();
        let public = write_secret_key(&path, &key).unwrap();
        assert!(write_secret_key(&path, &key).is_err(), "never overwrites");
        let back = read_secret_key(&path).unwrap();
        assert_eq!(back.to_bytes(), key.to_bytes());
        let pub_text = std::fs::read_to_string(public).unwrap();
        assert_eq!(parse_public_key(&pub_text).unwrap(), key.verifying_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let wasm = dir.path().join("g.wasm");
        std::fs::write(&wasm, b"component bytes").unwrap();
        let sig = sign_file(&key, &wasm).unwrap();
        assert_eq!(sig, dir.path().join("g.wasm.sig"));
        let file = std::fs::read(&sig).unwrap();
        assert!(
            check(b"component bytes", Some(&file), &[key.verifying_key()])
                .unwrap()
                .is_some()
        );
        assert!(parse_public_key("abcd").is_err());
        assert!(parse_public_keys(&["zz".into()]).is_err());
    }
}
