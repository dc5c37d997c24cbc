//! The Auth Hook endpoints Supabase Auth calls.
//!
//! Each handler receives its delivery through [`super::signed`] (admit the signature
//! headers, read and verify the body, parse it, apply it through the mirroring use-case)
//! and answers Supabase.

use super::raw_json::{JsonText, RawJson};
use super::{ApiTags, AppState, ErrorResponse, signed};
use crate::events::{AfterUserCreatedInput, BeforeUserCreatedInput, CustomAccessTokenInput};
use crate::mirroring::Handled;
use crate::signature::TOLERANCE;
use crate::token_claims::TokenAnswer;
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use std::sync::Arc;

/// The Auth Hook endpoints.
pub struct HooksApi;

/// The answer to custom-access-token: the claims Supabase Auth will sign, or a
/// refusal it passes on to the client.
#[derive(Object, Debug)]
pub struct CustomAccessTokenOutput {
    /// With nothing added or chained, the input claims exactly as sent, byte for byte.
    /// With `SUPAHOOK_ACCESS_TOKEN_CHAIN`, the claims the chained hook answered with
    /// (checked as Supabase Auth checks them). With `SUPAHOOK_TOKEN_PROFILE_CLAIM`, one
    /// more claim of that name holds `is_onboarded`, `display_name` and
    /// `profile_updated_at` (Unix seconds); with `SUPAHOOK_TOKEN_CLAIMS_QUERY`, one more
    /// claim (`SUPAHOOK_TOKEN_CLAIMS_NAME`, default `app`) holds the query's value.
    /// Absent when the token is refused.
    #[oai(skip_serializing_if_is_none)]
    pub claims: Option<Value>,
    /// The chained hook's refusal, or its failure with
    /// `SUPAHOOK_ACCESS_TOKEN_CHAIN_ON_FAILURE=closed`: Supabase Auth answers the client
    /// with `http_code` and `message`.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<HookError>,
}

/// A refusal in the only form Supabase Auth passes on to the user: inside a 200 answer.
#[derive(Object, Debug)]
pub struct HookError {
    /// The status Supabase Auth answers the signing-up client with.
    pub http_code: u16,
    /// The message the signing-up client sees.
    pub message: String,
}

/// The answer to before-user-created and after-user-created.
#[derive(Object, Debug, Default)]
pub struct HookAnswer {
    /// Present only when the sign-up is refused.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<HookError>,
}

/// Answers to custom-access-token.
#[derive(ApiResponse)]
pub enum CustomAccessTokenResponse {
    /// The claims (or a refusal in Supabase's form). `Supahook-Outcome` says what the
    /// delivery did to the mirror.
    #[oai(status = 200)]
    Ok(
        JsonText<CustomAccessTokenOutput>,
        /// `created`, `updated`, `unchanged`, `stale` or `duplicate`; `spooled` when
        /// the database could not take it in time and it waits in the local spool.
        #[oai(header = "Supahook-Outcome")]
        String,
    ),
}

/// Answers to before-user-created and after-user-created.
#[derive(ApiResponse)]
pub enum HookAnswerResponse {
    /// `{}` lets Supabase Auth go on; `{"error": {...}}` refuses the sign-up.
    /// `Supahook-Outcome` says what the delivery did to the mirror.
    #[oai(status = 200)]
    Ok(
        Json<HookAnswer>,
        /// `created`, `updated`, `unchanged`, `stale`, `duplicate`, `skipped`, `deleted` or
        /// `refused`; `spooled` when the database could not take it in time and it
        /// waits in the local spool.
        #[oai(header = "Supahook-Outcome")]
        String,
    ),
}

impl HookAnswerResponse {
    /// Lets Supabase Auth go on, saying what the delivery did to the mirror.
    pub(super) fn go_on(handled: Handled) -> Self {
        Self::Ok(Json(HookAnswer::default()), handled.as_str().to_owned())
    }

    /// Refuses the sign-up with 403 and `message`, which the signing-up client sees.
    fn refuse(message: String) -> Self {
        let error = HookError {
            http_code: 403,
            message,
        };
        Self::Ok(
            Json(HookAnswer { error: Some(error) }),
            "refused".to_owned(),
        )
    }
}

#[OpenApi(tag = "ApiTags::AuthHooks")]
impl HooksApi {
    /// Custom access token hook
    ///
    /// Supabase Auth calls this each time it issues an access token: every sign-in
    /// and every refresh. supahook creates or updates the user from the claims, creates
    /// the profile if it is missing, and answers with the claims unchanged. With
    /// `SUPAHOOK_ACCESS_TOKEN_CHAIN` set, it then hands the event to the project's own
    /// access-token hook (`pg-functions://` or `https://`) and answers with what that
    /// returns, its `error` included. With `SUPAHOOK_TOKEN_PROFILE_CLAIM` (for example
    /// `app_profile`) it adds the user's `is_onboarded`, `display_name` and
    /// `profile_updated_at`, and with `SUPAHOOK_TOKEN_CLAIMS_QUERY` the query's value
    /// (under `app` by default); neither overrides a Supabase claim. What the hook and
    /// the queries give is kept per user for `SUPAHOOK_TOKEN_CLAIMS_TTL` seconds, and
    /// dropped on `NOTIFY supahook_claims, '<user id>'`.
    /// Updates are ordered by `claims.iat`; retries are recognised by `metadata.uuid`.
    #[oai(
        path = "/hooks/custom-access-token",
        method = "post",
        operation_id = "customAccessToken"
    )]
    async fn custom_access_token(
        &self,
        state: Data<&Arc<AppState>>,
        request: &poem::Request,
        /// A new id on every attempt, part of the signed content.
        #[oai(name = "webhook-id")]
        webhook_id: Header<Option<String>>,
        /// Unix seconds; must be within 5 minutes of the server clock.
        #[oai(name = "webhook-timestamp")]
        webhook_timestamp: Header<Option<String>>,
        /// One or more `v1,<base64 HMAC-SHA256>` entries, one per configured secret;
        /// at most 16 entries and 4096 bytes.
        #[oai(name = "webhook-signature")]
        webhook_signature: Header<Option<String>>,
        body: RawJson<CustomAccessTokenInput>,
    ) -> Result<CustomAccessTokenResponse, ErrorResponse> {
        let headers = signed::headers(&webhook_id, &webhook_timestamp, &webhook_signature);
        let admitted = signed::admit(&state.verifier, headers, TOLERANCE)?;
        let hook = signed::receive(admitted, body).await?;
        let started = std::time::Instant::now();
        let handled = hook.deliver(&state, request.headers()).await?;
        let claims = CustomAccessTokenInput::claims_text(hook.bytes())?;
        let outcome = handled.as_str().to_owned();
        if !state.token_claims.is_on() {
            let body = [r#"{"claims":"#, &claims, "}"].concat();
            return Ok(CustomAccessTokenResponse::Ok(JsonText::new(body), outcome));
        }
        let answer = state
            .token_claims
            .answer(hook.event.user_id, hook.bytes(), &claims, handled, started)
            .await?;
        let body = match answer {
            TokenAnswer::Claims(claims) => [r#"{"claims":"#, &claims, "}"].concat(),
            TokenAnswer::Refused(refusal) => serde_json::json!({"error": {
                "http_code": refusal.http_code,
                "message": refusal.message,
            }})
            .to_string(),
        };
        Ok(CustomAccessTokenResponse::Ok(JsonText::new(body), outcome))
    }

    /// Before user created hook
    ///
    /// Supabase Auth calls this before it saves a new user. When a sign-up policy is
    /// set (`SUPAHOOK_ALLOWED_EMAIL_DOMAINS`, `SUPAHOOK_BLOCKED_EMAIL_DOMAINS`), a refused
    /// sign-up gets a 200 answer with an `error` object, which Supabase Auth shows the user.
    /// For email, phone, anonymous and invite sign-ups the user is mirrored at once as
    /// `provisional`: the sign-up can still fail in Supabase after this hook, so the
    /// user waits for another source to confirm it (see `GET /v1/users/{id}`). OAuth,
    /// OIDC, SAML and Web3 sign-ups carry a temporary id, so nothing is written.
    #[oai(
        path = "/hooks/before-user-created",
        method = "post",
        operation_id = "beforeUserCreated"
    )]
    async fn before_user_created(
        &self,
        state: Data<&Arc<AppState>>,
        request: &poem::Request,
        /// A new id on every attempt, part of the signed content.
        #[oai(name = "webhook-id")]
        webhook_id: Header<Option<String>>,
        /// Unix seconds; must be within 5 minutes of the server clock.
        #[oai(name = "webhook-timestamp")]
        webhook_timestamp: Header<Option<String>>,
        /// One or more `v1,<base64 HMAC-SHA256>` entries, one per configured secret;
        /// at most 16 entries and 4096 bytes.
        #[oai(name = "webhook-signature")]
        webhook_signature: Header<Option<String>>,
        body: RawJson<BeforeUserCreatedInput>,
    ) -> Result<HookAnswerResponse, ErrorResponse> {
        let headers = signed::headers(&webhook_id, &webhook_timestamp, &webhook_signature);
        let admitted = signed::admit(&state.verifier, headers, TOLERANCE)?;
        let hook = signed::receive(admitted, body).await?;
        if let Err(refusal) = state.policy.check(hook.event.email().as_deref()) {
            tracing::info!(
                hook = "before-user-created",
                outcome = "refused",
                "sign-up refused by policy"
            );
            return Ok(HookAnswerResponse::refuse(refusal.0));
        }
        Ok(HookAnswerResponse::go_on(
            hook.deliver(&state, request.headers()).await?,
        ))
    }

    /// After user created hook
    ///
    /// Supabase Auth calls this after a new user is committed, and again on every OAuth
    /// sign-in (harmless: a repeat is `unchanged`). Enabled on hosted projects through
    /// the Management API (`hook_after_user_created_*`), on self-hosted Auth with
    /// `GOTRUE_HOOK_AFTER_USER_CREATED_*`. supahook upserts the user as stored, ordered
    /// by its `updated_at`.
    /// An invited user's call carries `user_metadata: {}` (blanked by Supabase Auth):
    /// then the names and metadata supahook holds are kept.
    #[oai(
        path = "/hooks/after-user-created",
        method = "post",
        operation_id = "afterUserCreated"
    )]
    async fn after_user_created(
        &self,
        state: Data<&Arc<AppState>>,
        request: &poem::Request,
        /// A new id on every attempt, part of the signed content.
        #[oai(name = "webhook-id")]
        webhook_id: Header<Option<String>>,
        /// Unix seconds; must be within 5 minutes of the server clock.
        #[oai(name = "webhook-timestamp")]
        webhook_timestamp: Header<Option<String>>,
        /// One or more `v1,<base64 HMAC-SHA256>` entries, one per configured secret;
        /// at most 16 entries and 4096 bytes.
        #[oai(name = "webhook-signature")]
        webhook_signature: Header<Option<String>>,
        body: RawJson<AfterUserCreatedInput>,
    ) -> Result<HookAnswerResponse, ErrorResponse> {
        let headers = signed::headers(&webhook_id, &webhook_timestamp, &webhook_signature);
        let admitted = signed::admit(&state.verifier, headers, TOLERANCE)?;
        let hook = signed::receive(admitted, body).await?;
        Ok(HookAnswerResponse::go_on(
            hook.deliver(&state, request.headers()).await?,
        ))
    }
}
