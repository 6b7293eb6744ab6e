//! Moderation: `DELETE /admin/thoughts/<id>/`.

use crate::AppState;
use crate::error::ApiError;
use crate::store;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tokens::AuthUser;

/// Delete any thought (administrators only): 204, also when it does not exist.
#[utoipa::path(
    delete, path = "/admin/thoughts/{id}/", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "thought id")),
    responses((status = 204), (status = 401, body = kit::ErrorBody), (status = 403, body = kit::ErrorBody))
)]
pub async fn delete_thought(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !caller.admin {
        tracing::warn!(event = "admin_required", username = %caller.username, "non-administrator refused");
        return Err(ApiError::Forbidden("Administrator token required"));
    }
    if let Ok(id) = super::parse_id(&id) {
        let existed = store::delete(&state.db, id).await?;
        tracing::info!(event = "thought_moderated", id, existed, by = %caller.username, "thought deleted by administrator");
    }
    Ok(StatusCode::NO_CONTENT)
}
