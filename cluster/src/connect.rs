//! Connecting to NATS as its users expect: a URL (`nats://`, `tls://` for TLS, several
//! separated by commas, `user:password@` or a token `token@` in it, as the Go client reads
//! them), or user and password, a token, or a `.creds`
//! file (JWT and NKey seed), and a CA file to trust a server's certificate. The CLI takes them as
//! flags and from the environment variables the `nats` tool reads (`NATS_URL`, `NATS_USER`,
//! `NATS_PASSWORD`, `NATS_TOKEN`, `NATS_CREDS`, `NATS_CA`). The client reconnects by itself
//! when a server goes away, to any server of the cluster it learned of.
//! Must not: print credentials (errors name the URL without its user info).

use super::ClusterError;
use std::path::PathBuf;

/// How to reach and authenticate to NATS.
#[derive(Clone, Debug, Default)]
pub struct NatsOptions {
    /// Server URLs, separated by commas.
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A `.creds` file (a user JWT and its NKey seed).
    pub creds: Option<PathBuf>,
    /// A PEM file of the certificate authorities to trust for TLS.
    pub ca: Option<PathBuf>,
    /// The client's name, as the server's monitoring shows it.
    pub name: String,
}

/// The URL list with any `user:password@` taken out (for messages).
pub fn redacted(url: &str) -> String {
    url.split(',')
        .map(|u| match (u.find("://"), u.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}{}", &u[..scheme + 3], &u[at + 1..])
            }
            (None, Some(at)) => u[at + 1..].to_string(),
            _ => u.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Connects with `o`. The first connection must succeed (a wrong URL or credentials is an
/// error at once); later losses are reconnected by the client.
pub async fn connect(o: &NatsOptions) -> Result<async_nats::Client, ClusterError> {
    let fail = |detail: String| ClusterError::Connect {
        url: redacted(&o.url),
        detail,
    };
    let mut options = async_nats::ConnectOptions::new()
        .name(&o.name)
        .connection_timeout(std::time::Duration::from_secs(5));
    if let Some(creds) = &o.creds {
        options = options.credentials_file(creds).await.map_err(|e| {
            fail(format!(
                "reading the credentials file {}: {e}",
                creds.display()
            ))
        })?;
    }
    match (&o.user, &o.password) {
        (Some(u), Some(p)) => options = options.user_and_password(u.clone(), p.clone()),
        (Some(_), None) | (None, Some(_)) => {
            return Err(fail(
                "a NATS user needs a password, and a password a user".into(),
            ));
        }
        (None, None) => {}
    }
    if let Some(t) = &o.token {
        options = options.token(t.clone());
    }
    if let Some(ca) = &o.ca {
        if !ca.is_file() {
            return Err(fail(format!("the CA file {} does not exist", ca.display())));
        }
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    if o.url.split(',').any(|u| u.trim().starts_with("tls://")) {
        options = options.require_tls(true);
    }
    let addrs: Vec<async_nats::ServerAddr> = o
        .url
        .split(',')
        .map(|u| u.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| fail(format!("not a NATS URL: {e}")))?;
    // Credentials in a URL, when no flag gives any (the client does not read them itself).
    let flagged = o.user.is_some() || o.token.is_some() || o.creds.is_some();
    if let Some(a) = addrs.iter().find(|a| a.has_user_pass())
        && !flagged
    {
        let user = a.username().unwrap_or_default().to_string();
        options = match a.password() {
            Some(p) => options.user_and_password(user, p.to_string()),
            None => options.token(user),
        };
    }
    options
        .connect(addrs)
        .await
        .map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_left_out_of_messages() {
        assert_eq!(
            redacted("nats://alice:secret@127.0.0.1:4222,tls://h:4223"),
            "nats://127.0.0.1:4222,tls://h:4223"
        );
        assert_eq!(redacted("bob:pw@localhost"), "localhost");
        assert_eq!(redacted("nats://127.0.0.1"), "nats://127.0.0.1");
    }
}
