//! TLS for the host's own clients (the MQTT broker, Home Assistant): one
//! rustls configuration with the ring provider the host already links, so
//! no second crypto backend is built. It reads certificate authorities and
//! never a private key.

use anyhow::{Context, Result, anyhow, bail};
use rumqttc::tokio_rustls::rustls;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A client configuration trusting `ca_file` (the configuration `key`
/// that names it), or the system's CA bundle; `scheme` names the URL
/// scheme that needs it, for the error.
pub fn client_config(
    ca_file: Option<&Path>,
    key: &str,
    scheme: &str,
) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None => system_bundle().ok_or_else(|| {
            anyhow!(
                "{scheme} needs certificate authorities: no system CA bundle found \
                 (install ca-certificates, or set {key} to a PEM file)"
            )
        })?,
    };
    let key = if ca_file.is_some() {
        key
    } else {
        "the system CA bundle"
    };
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .with_context(|| format!("{key}: reading {}", path.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("{key}: {} is not PEM", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("{key}: a certificate of {} is invalid", path.display()))?;
    }
    if roots.is_empty() {
        bail!("{key}: {} holds no certificate", path.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The system's CA bundle: `SSL_CERT_FILE`, then the usual places.
fn system_bundle() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
        return Some(PathBuf::from(p));
    }
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}
