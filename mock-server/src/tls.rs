//! HTTPS for the listeners (cargo feature `tls`): a [`TlsConfig`] from a self-signed
//! certificate generated at start, or from the user's PEM files; rustls on the ring provider.
//!
//! A leaf module: `server.rs` wraps each accepted connection in [`Acceptor`] before hyper
//! sees it, within the read timeout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// What the listeners wrap each connection in.
pub(crate) type Acceptor = tokio_rustls::TlsAcceptor;

/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The names a generated certificate is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS set-up that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read; the cause is the error's source.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM file is not a regular file of at most 1 MiB.
    #[error("{} is not a regular file of at most 1 MiB", path.display())]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// The certificate file holds no valid PEM certificate.
    #[error("{} holds no valid PEM certificate", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why, when the PEM itself is broken.
        source: Option<pem::Error>,
    },
    /// The key file holds no valid PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("{} holds no valid PEM private key", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        source: pem::Error,
    },
    /// rustls refused the certificate and key (e.g. the key does not match the certificate).
    #[error("the certificate {} and key {} cannot serve TLS", cert.display(), key.display())]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        source: rustls::Error,
    },
    /// A self-signed certificate could not be generated.
    #[error("cannot generate a self-signed certificate")]
    Generate(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// How the listeners serve HTTPS: a certificate chain and its key, ready for rustls.
/// Give it to [`crate::MockServerBuilder::tls`].
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<ServerConfig>,
    certificate_pem: String,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// A certificate for `localhost`, `127.0.0.1` and `::1` ([`SELF_SIGNED_NAMES`]),
    /// generated now and signed by itself: clients trust exactly it
    /// ([`TlsConfig::certificate_pem`]), nothing else does.
    pub fn self_signed() -> Result<Self, TlsError> {
        let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let generated = rcgen::generate_simple_self_signed(names)
            .map_err(|error| TlsError::Generate(Box::new(error)))?;
        let key = PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
        let server = server_config(vec![generated.cert.der().clone()], key)
            .map_err(|error| TlsError::Generate(Box::new(error)))?;
        Ok(Self {
            server,
            certificate_pem: generated.cert.pem(),
        })
    }

    /// The certificate chain in `cert` and its private key in `key`, both PEM.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let cert_pem = read_pem(cert)?;
        let key_pem = read_pem(key)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| TlsError::Certificate {
                path: cert.to_owned(),
                source: Some(source),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Certificate {
                path: cert.to_owned(),
                source: None,
            });
        }
        let private_key =
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| TlsError::Key {
                path: key.to_owned(),
                source,
            })?;
        let server = server_config(chain, private_key).map_err(|source| TlsError::Refused {
            cert: cert.to_owned(),
            key: key.to_owned(),
            source,
        })?;
        Ok(Self {
            server,
            certificate_pem: certificate_blocks(&String::from_utf8_lossy(&cert_pem)),
        })
    }

    /// The certificate chain, PEM: what a client adds as its root to trust the mock. Only
    /// the `CERTIFICATE` blocks of `--tls-cert`: a file that bundles the key too never shows it.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    pub(crate) fn acceptor(&self) -> Acceptor {
        Acceptor::from(Arc::clone(&self.server))
    }
}

/// A server configuration on the ring provider, HTTP/1.1 only.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads a PEM file, refusing what is not a regular file of at most [`MAX_PEM_BYTES`]
/// before opening it (opening a FIFO blocks).
fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let metadata = std::fs::metadata(path).map_err(read)?;
    if !metadata.is_file() || metadata.len() > MAX_PEM_BYTES {
        return Err(TlsError::NotAFile {
            path: path.to_owned(),
        });
    }
    std::fs::read(path).map_err(read)
}

/// The `CERTIFICATE` blocks of a PEM text, nothing else (a bundle may hold the key too).
fn certificate_blocks(pem: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in pem.lines() {
        let line = line.trim_end();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
        if line == "-----END CERTIFICATE-----" {
            inside = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_pem() {
        let config = TlsConfig::self_signed().unwrap();
        assert!(
            config
                .certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(!format!("{config:?}").contains("PRIVATE"));
    }

    #[test]
    fn broken_files_are_named() {
        let dir = std::env::temp_dir().join(format!("beacon-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let error = TlsConfig::from_pem_files(&cert, &key).unwrap_err();
        assert!(matches!(error, TlsError::Certificate { .. }), "{error:?}");
        assert!(error.to_string().contains("cert.pem"), "{error}");
        let generated = TlsConfig::self_signed().unwrap();
        std::fs::write(&cert, generated.certificate_pem()).unwrap();
        let error = TlsConfig::from_pem_files(&cert, &key).unwrap_err();
        assert!(error.to_string().contains("key.pem"), "{error}");
        let error = TlsConfig::from_pem_files(&dir, &key).unwrap_err();
        assert!(matches!(error, TlsError::NotAFile { .. }), "{error:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bundle_of_certificate_and_key_shows_only_the_certificate() {
        let dir = std::env::temp_dir().join(format!("beacon-tls-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = generated.signing_key.serialize_pem();
        let (bundle, key_file) = (dir.join("bundle.pem"), dir.join("key.pem"));
        std::fs::write(&bundle, format!("{}{key}", generated.cert.pem())).unwrap();
        std::fs::write(&key_file, &key).unwrap();
        let config = TlsConfig::from_pem_files(&bundle, &key_file).unwrap();
        assert!(
            config
                .certificate_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(
            config
                .certificate_pem()
                .contains("-----END CERTIFICATE-----")
        );
        assert!(!config.certificate_pem().contains("PRIVATE KEY"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
