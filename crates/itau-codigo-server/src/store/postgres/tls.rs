//! libpq's TLS settings, `sslmode` and `sslrootcert`, for tokio-postgres on rustls (ring).
//!
//! tokio-postgres knows three modes (`disable`, `prefer`, `require`) and leaves every
//! certificate check to the TLS connector. Each libpq mode is therefore a wire mode and
//! a connector that checks exactly what libpq checks:
//!
//! | `sslmode`             | TLS                        | server certificate                 |
//! |-----------------------|----------------------------|------------------------------------|
//! | `disable`             | never                      | -                                  |
//! | `allow`, `prefer`     | when the server offers it  | not checked, unless a root is set  |
//! | `require`             | always                     | not checked, unless a root is set  |
//! | `verify-ca`           | always                     | chain to a root, any host name     |
//! | `verify-full`         | always                     | chain to a root, and the host name |
//!
//! "A root is set" means `sslrootcert=PATH`, or libpq's default `~/.postgresql/root.crt`
//! when that file exists: libpq then checks the chain in the weaker modes too (so
//! `require` with a root is `verify-ca`). `sslrootcert=system` trusts the operating
//! system's roots; as in libpq 16, it makes `verify-full` the default and refuses the
//! weaker modes, since anyone can get a publicly trusted certificate for a name of
//! their own. The default is `prefer`.
//!
//! Two differences from libpq, both on the safe side: `allow` tries TLS first (libpq
//! tries plain first; both connect to the same servers), and an `sslrootcert` file
//! that cannot be read is an error in every mode (libpq silently skips verification
//! in the weaker modes).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use tokio_postgres::config::SslMode as WireMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => {
                return Err(
                    "invalid sslmode: expected disable, allow, prefer, require, \
                            verify-ca or verify-full"
                        .into(),
                );
            }
        })
    }

    /// The mode a URL asks for: its `sslmode`, else libpq's default (`prefer`, or
    /// `verify-full` with the system's roots).
    fn of(sslmode: Option<&str>, roots: Option<&Roots>) -> Result<Self, String> {
        match sslmode {
            Some(value) => Self::parse(value),
            None if roots == Some(&Roots::System) => Ok(Self::VerifyFull),
            None => Ok(Self::Prefer),
        }
    }

    /// The mode a URL's `sslmode` and `sslrootcert` values ask for (no file is read).
    ///
    /// # Errors
    ///
    /// An unknown `sslmode`.
    pub(super) fn of_url_values(
        sslmode: Option<&str>,
        sslrootcert: Option<&str>,
    ) -> Result<Self, String> {
        let roots = match sslrootcert {
            Some("system") => Some(Roots::System),
            Some(path) => Some(Roots::File(path.into())),
            None => None,
        };
        Self::of(sslmode, roots.as_ref())
    }

    /// libpq's name for it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What someone on the network between us and the server can do in this mode.
    pub(super) fn exposure(self) -> &'static str {
        match self {
            Self::Disable => "the connection is not encrypted",
            Self::Allow | Self::Prefer => {
                "the connection falls back to plain text when TLS is refused, and the \
                 server's certificate is not checked unless sslrootcert is set"
            }
            Self::Require => {
                "the server's certificate is not checked unless sslrootcert is set, so \
                 anyone in between can pose as the server"
            }
            Self::VerifyCa => {
                "the certificate's chain is checked but not its host name, so any server \
                 holding a certificate from the same authority can pose as this one"
            }
            Self::VerifyFull => "the certificate and its host name are checked",
        }
    }

    /// What tokio-postgres does on the wire: whether TLS is tried, and whether a server
    /// that refuses it is accepted in plain.
    fn wire(self) -> WireMode {
        match self {
            Self::Disable => WireMode::Disable,
            Self::Allow | Self::Prefer => WireMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => WireMode::Require,
        }
    }
}

/// Where the trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// A PEM file of one or more certificates.
    File(PathBuf),
    /// The operating system's roots (`sslrootcert=system`).
    System,
}

/// What is checked of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Nothing: the connection is encrypted, but to whoever answers.
    Nothing,
    /// That it chains to a trusted root, whatever names it carries.
    Chain,
    /// That it chains to a trusted root and names the host connected to.
    ChainAndName,
}

/// The TLS half of a connection: tokio-postgres' mode and the connector to give it.
pub(super) struct Tls {
    pub(super) wire: WireMode,
    pub(super) connector: MakeRustlsConnect,
}

impl Tls {
    /// The settings for the URL's `sslmode` and `sslrootcert` values (percent-decoded),
    /// `None` when the URL has none.
    ///
    /// # Errors
    ///
    /// An unknown `sslmode`, a mode that needs a root without one, `system` roots with
    /// a mode weaker than `verify-full`, or a root file that cannot be read or holds no
    /// certificate (each message names the file).
    pub(super) fn from_url_values(
        sslmode: Option<&str>,
        sslrootcert: Option<&str>,
    ) -> Result<Self, String> {
        let (mode, check, roots) = plan(sslmode, sslrootcert, default_root_file())?;
        Ok(Self {
            wire: mode.wire(),
            connector: connector(check, roots.as_ref())?,
        })
    }
}

/// libpq's rules, without I/O: the mode, what to check, and the roots to check against.
fn plan(
    sslmode: Option<&str>,
    sslrootcert: Option<&str>,
    default_root: Option<PathBuf>,
) -> Result<(SslMode, Check, Option<Roots>), String> {
    let roots = match sslrootcert {
        Some("system") => Some(Roots::System),
        Some(path) => Some(Roots::File(path.into())),
        None => default_root.map(Roots::File),
    };
    let mode = SslMode::of(sslmode, roots.as_ref())?;
    if roots == Some(Roots::System) && mode != SslMode::VerifyFull {
        return Err(
            "sslrootcert=system needs sslmode=verify-full (as in libpq): anyone can get a \
             certificate from a public authority for a name of their own"
                .into(),
        );
    }
    let check = match (mode, &roots) {
        (SslMode::Disable, _) => return Ok((mode, Check::Nothing, None)),
        (SslMode::VerifyFull, Some(_)) => Check::ChainAndName,
        (SslMode::VerifyCa | SslMode::Allow | SslMode::Prefer | SslMode::Require, Some(_)) => {
            Check::Chain
        }
        (SslMode::Allow | SslMode::Prefer | SslMode::Require, None) => Check::Nothing,
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(
                "sslmode=verify-ca and verify-full need trusted roots: set sslrootcert=PATH \
                 (a PEM file), or sslrootcert=system for the operating system's; \
                 ~/.postgresql/root.crt, libpq's default, does not exist"
                    .into(),
            );
        }
    };
    Ok((mode, check, roots))
}

/// libpq's default root file, `~/.postgresql/root.crt`, when it exists.
fn default_root_file() -> Option<PathBuf> {
    let path = Path::new(&std::env::var_os("HOME")?).join(".postgresql/root.crt");
    path.is_file().then_some(path)
}

fn connector(check: Check, roots: Option<&Roots>) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match (check, roots) {
        (Check::Chain | Check::ChainAndName, Some(roots)) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(
                Arc::new(root_store(roots)?),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| format!("cannot check certificates: {e}"))?;
            if check == Check::Chain {
                Arc::new(Lenient {
                    certificate: CertificateCheck::ChainOnly(webpki),
                    algorithms: provider.signature_verification_algorithms,
                })
            } else {
                webpki
            }
        }
        _ => Arc::new(Lenient {
            certificate: CertificateCheck::Nothing,
            algorithms: provider.signature_verification_algorithms,
        }),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn root_store(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => {
            // Unreadable system certificates are skipped: a missing root shows up as a
            // precise handshake error.
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err("sslrootcert=system, but the system has no root certificates".into());
            }
        }
        Roots::File(path) => {
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| format!("cannot read sslrootcert {shown}: {e}"))?;
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("unusable certificate in sslrootcert {shown}: {e}"))?;
            }
            if store.is_empty() {
                return Err(format!("no certificate in sslrootcert {shown}"));
            }
        }
    }
    Ok(store)
}

/// The certificate checks below `verify-full`, with the handshake's signatures still
/// checked against the certificate presented, so that the session is encrypted to
/// whoever holds its key.
#[derive(Debug)]
struct Lenient {
    /// What is checked of the certificate itself.
    certificate: CertificateCheck,
    /// The signature algorithms of the crypto provider.
    algorithms: WebPkiSupportedAlgorithms,
}

#[derive(Debug)]
enum CertificateCheck {
    /// Any certificate is accepted (`require`, `prefer` and `allow` without a root, as
    /// libpq).
    Nothing,
    /// The chain to a trusted root but not the host name (`verify-ca`): webpki checks
    /// the chain first, so a name mismatch is the only error forgiven, and only once
    /// the chain is good.
    ChainOnly(Arc<WebPkiServerVerifier>),
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let CertificateCheck::ChainOnly(webpki) = &self.certificate else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(sslmode: Option<&str>, sslrootcert: Option<&str>) -> (SslMode, Check) {
        let (mode, check, _) = plan(sslmode, sslrootcert, None).unwrap();
        (mode, check)
    }

    #[test]
    fn each_sslmode_checks_what_libpq_checks() {
        let root = Some("/ca.pem");
        let cases = [
            (None, None, SslMode::Prefer, Check::Nothing),
            (Some("disable"), None, SslMode::Disable, Check::Nothing),
            (Some("disable"), root, SslMode::Disable, Check::Nothing),
            (Some("allow"), None, SslMode::Allow, Check::Nothing),
            (Some("prefer"), None, SslMode::Prefer, Check::Nothing),
            (Some("require"), None, SslMode::Require, Check::Nothing),
            (None, root, SslMode::Prefer, Check::Chain),
            (Some("require"), root, SslMode::Require, Check::Chain),
            (Some("verify-ca"), root, SslMode::VerifyCa, Check::Chain),
            (
                Some("verify-full"),
                root,
                SslMode::VerifyFull,
                Check::ChainAndName,
            ),
            (
                None,
                Some("system"),
                SslMode::VerifyFull,
                Check::ChainAndName,
            ),
        ];
        for (sslmode, sslrootcert, mode, check) in cases {
            assert_eq!(
                plan_of(sslmode, sslrootcert),
                (mode, check),
                "sslmode={sslmode:?} sslrootcert={sslrootcert:?}"
            );
        }
    }

    #[test]
    fn the_wire_mode_falls_back_to_plain_only_for_allow_and_prefer() {
        assert_eq!(SslMode::Disable.wire(), WireMode::Disable);
        assert_eq!(SslMode::Allow.wire(), WireMode::Prefer);
        assert_eq!(SslMode::Prefer.wire(), WireMode::Prefer);
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            assert_eq!(mode.wire(), WireMode::Require, "{mode:?}");
        }
    }

    #[test]
    fn the_default_root_file_makes_the_weaker_modes_check_the_chain() {
        let default = Some(PathBuf::from("/home/app/.postgresql/root.crt"));
        let (mode, check, roots) = plan(Some("require"), None, default.clone()).unwrap();
        assert_eq!((mode, check), (SslMode::Require, Check::Chain));
        assert_eq!(roots, default.map(Roots::File));
        let (_, check, _) = plan(Some("verify-full"), None, Some("/r.crt".into())).unwrap();
        assert_eq!(check, Check::ChainAndName);
    }

    #[test]
    fn verifying_modes_without_roots_and_weak_modes_with_system_roots_are_refused() {
        for mode in ["verify-ca", "verify-full"] {
            let error = plan(Some(mode), None, None).unwrap_err();
            assert!(error.contains("sslrootcert=system"), "{error}");
        }
        for mode in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let error = plan(Some(mode), Some("system"), None).unwrap_err();
            assert!(
                error.contains("needs sslmode=verify-full"),
                "{mode}: {error}"
            );
        }
        let error = plan(Some("sometimes"), None, None).unwrap_err();
        assert!(error.contains("invalid sslmode"), "{error}");
    }

    #[test]
    fn a_root_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let error = root_store(&Roots::File(path.clone())).unwrap_err();
        assert_eq!(
            error,
            format!("no certificate in sslrootcert {}", path.display())
        );
    }
}
