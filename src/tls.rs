//! TLS for every HTTP client: rustls with ring as the one crypto provider. reqwest is built with
//! `rustls-no-provider` (its default would compile aws-lc-rs as a second provider), so each client
//! is built here, after the provider is installed; bollard's TLS connector needs it as well.

/// Installs ring as rustls' process-wide crypto provider, once. Calling it again, or after another
/// provider was installed, is harmless: the first installed provider stays.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing a provider is fine: one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A reqwest client builder whose TLS uses the installed provider.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// A reqwest client with default settings.
pub fn client() -> reqwest::Client {
    client_builder().build().expect("an HTTP client with the ring crypto provider builds")
}
