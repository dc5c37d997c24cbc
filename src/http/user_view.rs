//! How a mirrored user and its profile are shown by the API.

use crate::mirror::MirrorUser;
use crate::storage::{ProfileDetails, UserDetails};
use chrono::{DateTime, Utc};
use poem_openapi::Object;
use serde_json::Value;
use uuid::Uuid;

/// The application-owned profile of a user.
#[derive(Object, Debug)]
#[oai(example)]
pub struct ProfileView {
    /// Name shown in the application; seeded from the identity data, then owned by the application.
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Avatar shown in the application; seeded from the identity data, then owned by the application.
    #[oai(nullable)]
    pub avatar_url: Option<String>,
    /// The application's settings for the user: a JSON object, `{}` until the application sets it.
    pub settings: Value,
    /// When the profile was created.
    pub created_at: DateTime<Utc>,
    /// When the profile last changed.
    pub updated_at: DateTime<Utc>,
}

/// A mirrored Supabase user.
#[derive(Object, Debug)]
#[oai(example)]
pub struct UserView {
    /// The Supabase user id.
    pub id: Uuid,
    /// Email; `null` when the user has none.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Phone, E.164 digits without `+`; `null` when the user has none.
    #[oai(nullable)]
    pub phone: Option<String>,
    /// From `first_name`, `given_name`, or the first word of `full_name`/`name` in `user_metadata`.
    #[oai(nullable)]
    pub first_name: Option<String>,
    /// From `last_name`, `family_name`, or the rest of `full_name`/`name` in `user_metadata`.
    #[oai(nullable)]
    pub last_name: Option<String>,
    /// From `avatar_url` or `picture` in `user_metadata`.
    #[oai(nullable)]
    pub avatar_url: Option<String>,
    /// `app_metadata.provider`: the provider of the first sign-up.
    #[oai(nullable)]
    pub auth_provider: Option<String>,
    /// `app_metadata.providers`: every linked provider.
    pub providers: Vec<String>,
    /// Whether the user signed in anonymously.
    pub is_anonymous: bool,
    /// When the email was confirmed.
    #[oai(nullable)]
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// When the phone was confirmed.
    #[oai(nullable)]
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// The last sign-in Supabase reported.
    #[oai(nullable)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Supabase `user_metadata`.
    pub user_metadata: Value,
    /// Supabase `app_metadata`.
    pub app_metadata: Value,
    /// Application-owned flag; never changed by a sync.
    pub is_onboarded: bool,
    /// When Supabase created the user, when known.
    #[oai(nullable)]
    pub auth_created_at: Option<DateTime<Utc>>,
    /// The source time of the newest event applied to the identity columns.
    pub source_updated_at: DateTime<Utc>,
    /// The source time of the newest `auth.users` row snapshot applied to the
    /// confirmation, sign-in and delete times.
    #[oai(nullable)]
    pub activity_updated_at: Option<DateTime<Utc>>,
    /// When the user was deleted in Supabase.
    #[oai(nullable)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// `true` while only before-user-created has spoken of the user: its sign-up can
    /// still fail in Supabase after that hook. Any other source (a token, the
    /// `auth.users` trigger or a Database Webhook, after-user-created, a frontend sync,
    /// reconcile) confirms it for good. Provisional users are left out of
    /// `GET /v1/users` unless `provisional=true`, and removed after
    /// `SUPAHOOK_PROVISIONAL_GRACE_SECONDS` when nothing confirmed them.
    pub provisional: bool,
    /// Supabase bans the user until then (a ban without end is a time far ahead);
    /// `null` when not banned. A time in the past means the ban is over.
    #[oai(nullable)]
    pub banned_until: Option<DateTime<Utc>>,
    /// Whether the user signs in through SSO. In `auth.users` an email is unique only
    /// among users that are not SSO users, so an SSO user may share one.
    pub is_sso_user: bool,
    /// The user's email is one the sign-up policy (`SUPAHOOK_ALLOWED_EMAIL_DOMAINS`,
    /// `SUPAHOOK_BLOCKED_EMAIL_DOMAINS`) refuses: Supabase created or changed it by a
    /// path that never asks before-user-created (an admin, an email change, an
    /// anonymous user adding an email). The user is mirrored, not removed.
    pub policy_violation: bool,
    /// When supahook first mirrored the user.
    pub created_at: DateTime<Utc>,
    /// When the mirror row last changed.
    pub updated_at: DateTime<Utc>,
    /// The application-owned profile.
    #[oai(nullable)]
    pub profile: Option<ProfileView>,
}

impl From<ProfileDetails> for ProfileView {
    fn from(p: ProfileDetails) -> Self {
        Self {
            display_name: p.display_name,
            avatar_url: p.avatar_url,
            settings: p.settings,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<UserDetails> for UserView {
    fn from(stored: UserDetails) -> Self {
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
            provisional,
            banned_until,
            is_sso_user,
            policy_violation,
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
            provisional,
            banned_until,
            is_sso_user,
            policy_violation,
            created_at,
            updated_at,
            profile: stored.profile.map(Into::into),
        }
    }
}
