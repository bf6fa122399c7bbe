//! The native TLS certificate check: how many days the service's certificate has left.
//!
//! The handshake uses a verifier that records the leaf certificate and accepts it whatever its
//! chain or name: this check is about expiry, and must still answer for a self-signed or
//! internal-CA certificate (the HTTP check is where the chain is verified). Handshake
//! signatures are still checked, with rustls' ring provider, so the server does hold the key.

use crate::{io_message, seconds, Verdict};
use parc_core::monitoring::ServiceState;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSpec {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) server_name: String,
    pub(crate) warning_days: u32,
    pub(crate) critical_days: u32,
}

impl TlsSpec {
    pub(crate) fn describe(&self) -> String {
        format!("TLS certificate of {} port {} (server name {})", self.host, self.port, self.server_name)
    }
}

/// Accepts any certificate, remembering the leaf.
#[derive(Debug)]
struct RecordingVerifier {
    provider: Arc<CryptoProvider>,
    leaf: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.leaf.lock().unwrap_or_else(PoisonError::into_inner) = Some(end_entity.clone().into_owned());
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Handshakes and judges the leaf certificate's `notAfter`. No connection, failed handshake,
/// expired or not yet valid: CRITICAL.
pub(crate) async fn run(spec: &TlsSpec, timeout: Duration) -> Verdict {
    let deadline = Instant::now() + timeout;
    let target = format!("{} port {}", spec.host, spec.port);
    let critical = |text: String| Verdict::native(ServiceState::Critical, &text);
    let stream = match timeout_at(deadline, TcpStream::connect((spec.host.as_str(), spec.port))).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return critical(format!("TLS CRITICAL - cannot connect to {target}: {}", io_message(&e))),
        Err(_) => return critical(format!("TLS CRITICAL - no connection to {target} within {}", seconds(timeout))),
    };
    let Ok(server_name) = ServerName::try_from(spec.server_name.clone()) else {
        return Verdict::native(
            ServiceState::Unknown,
            &format!("UNKNOWN: '{}' is not a valid TLS server name", spec.server_name),
        );
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(RecordingVerifier { provider: provider.clone(), leaf: Mutex::new(None) });
    let config = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(builder) => builder.dangerous().with_custom_certificate_verifier(verifier.clone()).with_no_client_auth(),
        Err(e) => return Verdict::native(ServiceState::Unknown, &format!("UNKNOWN: TLS setup failed: {e}")),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match timeout_at(deadline, connector.connect(server_name, stream)).await {
        Ok(Ok(_session)) => {}
        Ok(Err(e)) => return critical(format!("TLS CRITICAL - handshake with {target} failed: {}", io_message(&e))),
        Err(_) => return critical(format!("TLS CRITICAL - no handshake with {target} within {}", seconds(timeout))),
    }
    let Some(leaf) = verifier.leaf.lock().unwrap_or_else(PoisonError::into_inner).take() else {
        return critical(format!("TLS CRITICAL - {target} sent no certificate"));
    };
    judge(spec, &leaf, chrono::Utc::now().timestamp())
}

/// The verdict on a DER certificate at `now` (Unix seconds).
fn judge(spec: &TlsSpec, der: &[u8], now: i64) -> Verdict {
    let cert = match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => cert,
        Err(e) => return Verdict::native(ServiceState::Unknown, &format!("UNKNOWN: cannot read the certificate: {e}")),
    };
    let subject = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| cert.subject().to_string());
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let date = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map_or_else(|| t.to_string(), |d| d.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    let days_left = (not_after - now) as f64 / 86_400.0;
    let (state, what) = if now < not_before {
        (ServiceState::Critical, format!("is not valid before {}", date(not_before)))
    } else if now > not_after {
        (ServiceState::Critical, format!("expired on {}", date(not_after)))
    } else {
        let state = if days_left < f64::from(spec.critical_days) {
            ServiceState::Critical
        } else if days_left < f64::from(spec.warning_days) {
            ServiceState::Warning
        } else {
            ServiceState::Ok
        };
        (state, format!("expires in {} days ({})", days_left.floor(), date(not_after)))
    };
    let text = format!(
        "TLS {state} - certificate for '{subject}' {what}|days_left={days_left:.2};{}:;{}:;;",
        spec.warning_days, spec.critical_days
    );
    Verdict::native(state, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_expiry() {
        let mut params = rcgen::CertificateParams::new(vec!["test.local".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2026, 3, 1);
        params.distinguished_name.push(rcgen::DnType::CommonName, "test.local");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let spec = TlsSpec {
            host: "h".into(),
            port: 443,
            server_name: "test.local".into(),
            warning_days: 30,
            critical_days: 7,
        };
        let at = |y, m, d| {
            chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp()
        };
        let cases = [
            (
                at(2025, 12, 1),
                ServiceState::Critical,
                "TLS CRITICAL - certificate for 'test.local' is not valid before 2026-01-01 00:00 UTC",
            ),
            (
                at(2026, 1, 1),
                ServiceState::Ok,
                "TLS OK - certificate for 'test.local' expires in 59 days (2026-03-01 00:00 UTC)",
            ),
            (
                at(2026, 2, 1),
                ServiceState::Warning,
                "TLS WARNING - certificate for 'test.local' expires in 28 days (2026-03-01 00:00 UTC)",
            ),
            (
                at(2026, 2, 25),
                ServiceState::Critical,
                "TLS CRITICAL - certificate for 'test.local' expires in 4 days (2026-03-01 00:00 UTC)",
            ),
            (
                at(2026, 3, 2),
                ServiceState::Critical,
                "TLS CRITICAL - certificate for 'test.local' expired on 2026-03-01 00:00 UTC",
            ),
        ];
        for (now, state, summary) in cases {
            let verdict = judge(&spec, cert.der(), now);
            assert_eq!((verdict.state, verdict.output.summary.as_str()), (state, summary));
            assert_eq!(verdict.output.perfdata[0].label, "days_left");
        }
        let garbage = judge(&spec, b"not a certificate", 0);
        assert_eq!(garbage.state, ServiceState::Unknown);
    }
}
