//! `GET /.well-known/jwks.json`: the public keys that verify our tokens.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

/// The JWK Set (RS256 public keys with their `kid`).
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "users",
    responses((status = 200, description = "The public keys that verify current tokens.", body = crate::openapi::JwkSet,
        headers(("Cache-Control" = String, description = "`public, max-age=300`"))))
)]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.signer.jwks()),
    )
}
