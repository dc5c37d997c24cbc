//! The Database Webhook endpoint: changes to `auth.users`.

use super::hooks::HookAnswerResponse;
use super::raw_json::RawJson;
use super::{ApiTags, AppState, ErrorResponse, signed};
use crate::events::AuthUsersChange;
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Header;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// The Database Webhook endpoint.
pub struct DbWebhooksApi;

/// How old a signed Database Webhook may be. `pg_net` sends after commit from a
/// background worker and never retries, so a busy database can send minutes late;
/// replays stay harmless because each `webhook-id` applies once and older rows are stale.
const DB_WEBHOOK_TOLERANCE: Duration = Duration::from_secs(3600);

#[OpenApi(tag = "ApiTags::DatabaseWebhooks")]
impl DbWebhooksApi {
    /// Database Webhook on auth.users
    ///
    /// Receives every INSERT, UPDATE and DELETE on `auth.users`, from the signed trigger in
    /// `deploy/supabase` (Standard Webhooks headers, same secrets as the Auth Hooks) or, when
    /// `SUPAHOOK_DB_WEBHOOK_TOKEN` is set, from a dashboard webhook sending
    /// `Authorization: Bearer <token>`. Changes from the signed trigger are ordered by
    /// `changed_at`, the time of the change in the database, so direct SQL edits count too;
    /// dashboard webhooks are ordered by `record.updated_at`. The order of arrival never
    /// matters: deletes are final, and the newest snapshot of each user wins. A soft delete
    /// keeps the last real email and phone; a DELETE follows `SUPAHOOK_ON_DELETE` (`soft`
    /// keeps the row with `deleted_at` set, `hard` removes it). Password hashes and tokens in
    /// the payload are never stored or logged.
    #[oai(
        path = "/hooks/auth-users",
        method = "post",
        operation_id = "authUsersWebhook"
    )]
    async fn auth_users(
        &self,
        state: Data<&Arc<AppState>>,
        request: &poem::Request,
        /// A fresh id per event, part of the signed content and the idempotency key.
        #[oai(name = "webhook-id")]
        webhook_id: Header<Option<String>>,
        /// Unix seconds; must be within an hour of the server clock (pg_net can send late).
        #[oai(name = "webhook-timestamp")]
        webhook_timestamp: Header<Option<String>>,
        /// One or more `v1,<base64 HMAC-SHA256>` entries, space- or `", "`-separated;
        /// at most 16 entries and 4096 bytes.
        #[oai(name = "webhook-signature")]
        webhook_signature: Header<Option<String>>,
        body: RawJson<AuthUsersChange>,
    ) -> Result<HookAnswerResponse, ErrorResponse> {
        let admitted = signed::admit_token_or_signature(
            &state.verifier,
            state
                .db_webhook_token
                .as_ref()
                .map(|token| token.expose_secret()),
            request.header("authorization"),
            signed::headers(&webhook_id, &webhook_timestamp, &webhook_signature),
            DB_WEBHOOK_TOLERANCE,
        )?;
        let hook = signed::receive(admitted, body).await?;
        Ok(HookAnswerResponse::go_on(
            hook.deliver(&state, request.headers()).await?,
        ))
    }
}
