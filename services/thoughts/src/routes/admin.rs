//! Moderation: `DELETE /admin/thoughts/<id>/`.

use crate::AppState;
use crate::error::ApiError;
use crate::openapi;
use crate::store;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tokens::AuthUser;

/// Delete any thought (administrators only): 204, also when it does not
/// exist; 404 when the path holds no thought id (as the book's
/// `<int:thought_id>` route answers).
#[utoipa::path(
    delete, path = "/admin/thoughts/{id}/", tag = "admin", security(("bearer" = [])),
    params(("id" = inline(openapi::ThoughtId), Path, description = "Thought id")),
    responses(
        (status = 204, description = "Deleted, or there was no such thought."),
        kit::openapi::Unauthorized,
        (status = 403, description = "The token is not an administrator's.", body = kit::ErrorBody),
        (status = 404, description = "The id is not a positive integer.", body = kit::ErrorBody),
        (status = 503, description = "No key to verify tokens is known yet (the users service unreachable since start-up). Or the database is not reachable right now (`Retry-After: 2`).", body = kit::ErrorBody),
        kit::openapi::Internal,
    )
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
    let id = super::parse_id(&id)?;
    let existed = store::delete(&state.db, &state.cache, &state.versions, id).await?;
    tracing::info!(event = "thought_moderated", id, existed, by = %caller.username, "thought deleted by administrator");
    Ok(StatusCode::NO_CONTENT)
}
