//! Bearer-token authentication: the token is made at the first `serve --listen` (256 random
//! bits, hex), kept in `<state-dir>/api/token` readable by its owner only, and embedded in the
//! kubeconfig `wasmjob kubeconfig` prints. A request without it is refused with 401 and a
//! `Status` whose reason is `Unauthorized`, as a cluster refuses it.

use super::ApiState;
use super::status::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder of the API's files below the state directory.
pub fn api_dir(state_dir: &Path) -> PathBuf {
    wasmjob_control::store::StateDir::new(state_dir).api()
}

/// Where the token is kept.
pub fn token_path(state_dir: &Path) -> PathBuf {
    api_dir(state_dir).join("token")
}

/// Where `serve --listen` writes the address it listens on.
pub fn address_path(state_dir: &Path) -> PathBuf {
    api_dir(state_dir).join("address")
}

/// The state directory's token, made (mode 0600) when there is none.
pub fn token(state_dir: &Path) -> std::io::Result<String> {
    let path = token_path(state_dir);
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(api_dir(state_dir))?;
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    Ok(token)
}

/// Refuses every request whose `Authorization` header is not `Bearer <token>`.
pub async fn require_token(
    State(state): State<Arc<ApiState>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if equal_in_constant_time(given.as_bytes(), state.token.as_bytes()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_token_is_made_once_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("wasmjob-token-{}", uuid::Uuid::new_v4()));
        let first = token(&dir).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        let mode = std::fs::metadata(token_path(&dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            token(&dir).unwrap(),
            first,
            "a second start keeps the token"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn comparison_needs_every_byte() {
        assert!(equal_in_constant_time(b"abc", b"abc"));
        assert!(!equal_in_constant_time(b"abc", b"abd"));
        assert!(!equal_in_constant_time(b"abc", b"ab"));
        assert!(!equal_in_constant_time(b"", b"a"));
    }
}
