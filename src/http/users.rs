//! The read API over the mirror.

use super::{ApiTags, AppState, ErrorResponse};
use crate::mirror::{MirrorUser, Profile};
use crate::signature::same_secret;
use crate::storage::StoredUser;
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::auth::Bearer;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, SecurityScheme};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// The read API.
pub struct UsersApi;

/// `Authorization: Bearer <SUPAHOOK_ADMIN_TOKEN>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer")]
pub struct AdminToken(Bearer);

/// The application-owned profile of a user.
#[derive(Object, Debug)]
pub struct ProfileView {
    /// Name shown in the application; seeded from the identity data, then owned by the application.
    pub display_name: Option<String>,
    /// Avatar shown in the application; seeded from the identity data, then owned by the application.
    pub avatar_url: Option<String>,
    /// When the profile was created.
    pub created_at: DateTime<Utc>,
    /// When the profile last changed.
    pub updated_at: DateTime<Utc>,
}

/// A mirrored Supabase user.
#[derive(Object, Debug)]
pub struct UserView {
    /// The Supabase user id.
    pub id: Uuid,
    /// Email; absent when the user has none.
    pub email: Option<String>,
    /// Phone, E.164 digits without `+`; absent when the user has none.
    pub phone: Option<String>,
    /// From `first_name`, `given_name`, or the first word of `full_name`/`name` in `user_metadata`.
    pub first_name: Option<String>,
    /// From `last_name`, `family_name`, or the rest of `full_name`/`name` in `user_metadata`.
    pub last_name: Option<String>,
    /// From `avatar_url` or `picture` in `user_metadata`.
    pub avatar_url: Option<String>,
    /// `app_metadata.provider`: the provider of the first sign-up.
    pub auth_provider: Option<String>,
    /// `app_metadata.providers`: every linked provider.
    pub providers: Vec<String>,
    /// Whether the user signed in anonymously.
    pub is_anonymous: bool,
    /// When the email was confirmed.
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// When the phone was confirmed.
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// The last sign-in Supabase reported.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Supabase `user_metadata`.
    pub user_metadata: Value,
    /// Supabase `app_metadata`.
    pub app_metadata: Value,
    /// Application-owned flag; never changed by a sync.
    pub is_onboarded: bool,
    /// When Supabase created the user, when known.
    pub auth_created_at: Option<DateTime<Utc>>,
    /// The source time of the newest event applied to the identity columns.
    pub source_updated_at: DateTime<Utc>,
    /// The source time of the newest `auth.users` row snapshot applied to the
    /// confirmation, sign-in and delete times.
    pub activity_updated_at: Option<DateTime<Utc>>,
    /// When the user was deleted in Supabase.
    pub deleted_at: Option<DateTime<Utc>>,
    /// When supahook first mirrored the user.
    pub created_at: DateTime<Utc>,
    /// When the mirror row last changed.
    pub updated_at: DateTime<Utc>,
    /// The application-owned profile.
    pub profile: Option<ProfileView>,
}

impl From<Profile> for ProfileView {
    fn from(p: Profile) -> Self {
        Self {
            display_name: p.display_name,
            avatar_url: p.avatar_url,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<StoredUser> for UserView {
    fn from(stored: StoredUser) -> Self {
        let MirrorUser {
            id,
            email,
            phone,
            first_name,
            last_name,
            avatar_url,
            auth_provider,
            providers,
            is_anonymous,
            email_confirmed_at,
            phone_confirmed_at,
            last_sign_in_at,
            user_metadata,
            app_metadata,
            is_onboarded,
            auth_created_at,
            source_updated_at,
            activity_updated_at,
            deleted_at,
            created_at,
            updated_at,
        } = stored.user;
        Self {
            id,
            email,
            phone,
            first_name,
            last_name,
            avatar_url,
            auth_provider,
            providers,
            is_anonymous,
            email_confirmed_at,
            phone_confirmed_at,
            last_sign_in_at,
            user_metadata,
            app_metadata,
            is_onboarded,
            auth_created_at,
            source_updated_at,
            activity_updated_at,
            deleted_at,
            created_at,
            updated_at,
            profile: stored.profile.map(Into::into),
        }
    }
}

/// Answers to a user lookup.
#[derive(ApiResponse)]
pub enum GetUserResponse {
    /// The user and its profile.
    #[oai(status = 200)]
    Ok(Json<UserView>),
}

#[OpenApi(tag = "ApiTags::Users")]
impl UsersApi {
    /// Get a mirrored user
    ///
    /// The user with this Supabase id and its profile. 404 when supahook has never
    /// mirrored it; deleted users are returned with `deleted_at` set.
    #[oai(path = "/v1/users/:id", method = "get", operation_id = "getUser")]
    async fn get_user(
        &self,
        state: Data<&Arc<AppState>>,
        token: AdminToken,
        /// The Supabase user id.
        id: Path<Uuid>,
    ) -> Result<GetUserResponse, ErrorResponse> {
        let Some(expected) = &state.admin_token else {
            return Err(ErrorResponse::unauthorized(
                "the read API is off: set SUPAHOOK_ADMIN_TOKEN to turn it on",
            ));
        };
        if !same_secret(&token.0.token, expected.expose()) {
            return Err(ErrorResponse::unauthorized("the bearer token is not valid"));
        }
        match state.sync.storage().find_user(id.0).await? {
            Some(user) => Ok(GetUserResponse::Ok(Json(user.into()))),
            None => Err(ErrorResponse::not_found(format!(
                "no user with id {}",
                id.0
            ))),
        }
    }
}
