//! The Auth Hook payloads supahook mirrors from: custom-access-token,
//! before-user-created and after-user-created.
//!
//! These types are also the request schemas published in the OpenAPI spec,
//! so their doc comments are written for the person reading `/docs`.

use super::limits::contact;
use super::user_fields::{object_or_empty, provider, providers};
use super::{
    Activity, Delivery, HookKind, ParseError, UserChange, UserRecord, avatar_url, non_empty,
    person_name, to_micros,
};
use chrono::{DateTime, Datelike, Utc};
use poem_openapi::Object;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;
use uuid::Uuid;

/// The envelope Supabase Auth puts on every hook call (Auth v2.187 and later).
#[derive(Object, Deserialize, Debug, Clone)]
pub struct HookMetadata {
    /// Made once per hook invocation and kept on every retry, unlike `webhook-id`.
    /// supahook uses it as the idempotency key.
    pub uuid: Uuid,
    /// When Supabase Auth invoked the hook (RFC 3339, any offset).
    pub time: DateTime<Utc>,
    /// The hook's name; when present it must be this endpoint's hook:
    /// `customize-access-token`, `before-user-created` or `after-user-created`.
    #[oai(nullable)]
    pub name: Option<String>,
    /// The IP address of the client whose request triggered the hook.
    #[oai(nullable)]
    pub ip_address: Option<String>,
}

/// A Supabase Auth user as hooks send it. Fields not listed here are accepted and ignored.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct AuthUser {
    /// The user id. For OAuth, OIDC, SAML and Web3 sign-ups in before-user-created,
    /// this id is temporary and is not the id the user will get.
    pub id: Uuid,
    /// Audience, usually `authenticated`.
    #[oai(nullable)]
    pub aud: Option<String>,
    /// Database role; empty before the user is saved.
    #[oai(nullable)]
    pub role: Option<String>,
    /// Lower-cased email; `""` when the user has none.
    #[oai(nullable, validator(max_length = 255))]
    #[serde(default, deserialize_with = "contact")]
    pub email: Option<String>,
    /// E.164 digits without `+`; `""` when the user has none.
    #[oai(nullable, validator(max_length = 255))]
    #[serde(default, deserialize_with = "contact")]
    pub phone: Option<String>,
    /// When the email address was confirmed.
    #[oai(nullable)]
    pub email_confirmed_at: Option<DateTime<Utc>>,
    /// When the phone number was confirmed.
    #[oai(nullable)]
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    /// The last sign-in.
    #[oai(nullable)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Provider data set by Supabase and admins: `provider`, `providers`, custom keys.
    #[oai(nullable)]
    pub app_metadata: Option<Value>,
    /// Data from sign-up or from the identity provider (names, avatar, ...).
    #[oai(nullable)]
    pub user_metadata: Option<Value>,
    /// When the user was created; `0001-01-01T00:00:00Z` before it is saved.
    #[oai(nullable)]
    pub created_at: Option<DateTime<Utc>>,
    /// When Supabase last changed the user; `0001-01-01T00:00:00Z` before it is saved.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Set when the user has been soft-deleted.
    #[oai(nullable)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Whether the user signed in anonymously.
    #[oai(nullable)]
    pub is_anonymous: Option<bool>,
    /// When the user was invited; absent for other users. Supabase Auth sends an
    /// invited user's after-user-created with `user_metadata` blanked to `{}`, so
    /// supahook then keeps the names and metadata it holds.
    #[oai(nullable)]
    pub invited_at: Option<DateTime<Utc>>,
    /// The user is banned until then; absent when not banned.
    #[oai(nullable)]
    pub banned_until: Option<DateTime<Utc>>,
}

/// The claims of the access token being issued.
/// Every claim, known or not, is returned unchanged in the answer.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct AccessTokenClaims {
    /// The user id.
    #[oai(nullable)]
    pub sub: Option<String>,
    /// Audience: a string, or (rarely) an array of strings.
    #[oai(nullable)]
    pub aud: Option<Value>,
    /// Expiry, Unix seconds.
    #[oai(nullable)]
    pub exp: Option<i64>,
    /// Issued at, Unix seconds from 1970 to the end of 9999. This is the version
    /// supahook orders updates by.
    #[oai(validator(minimum(value = "0"), maximum(value = "253402300799")))]
    pub iat: i64,
    /// Email, `""` when none.
    #[oai(nullable, validator(max_length = 255))]
    #[serde(default, deserialize_with = "contact")]
    pub email: Option<String>,
    /// Phone, `""` when none.
    #[oai(nullable, validator(max_length = 255))]
    #[serde(default, deserialize_with = "contact")]
    pub phone: Option<String>,
    /// The user's `app_metadata`.
    #[oai(nullable)]
    pub app_metadata: Option<Value>,
    /// The user's `user_metadata`.
    #[oai(nullable)]
    pub user_metadata: Option<Value>,
    /// Database role, usually `authenticated`.
    #[oai(nullable)]
    pub role: Option<String>,
    /// Authenticator assurance level, `aal1` or `aal2`.
    #[oai(nullable)]
    pub aal: Option<String>,
    /// The session this token belongs to.
    #[oai(nullable)]
    pub session_id: Option<String>,
    /// Whether the user signed in anonymously.
    #[oai(nullable)]
    pub is_anonymous: Option<bool>,
}

/// Sent by Supabase Auth each time it issues an access token: every sign-in and every refresh.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct CustomAccessTokenInput {
    /// Absent from Supabase Auth versions before v2.187.
    #[oai(nullable)]
    pub metadata: Option<HookMetadata>,
    /// The user the token is for.
    pub user_id: Uuid,
    /// The claims Supabase Auth is about to sign.
    pub claims: AccessTokenClaims,
    /// How the user authenticated: `password`, `oauth`, `token_refresh`, `otp`, ...
    #[oai(nullable)]
    pub authentication_method: Option<String>,
}

/// Sent by Supabase Auth before it saves a new user.
#[derive(Object, Deserialize, Debug, Clone)]
pub struct BeforeUserCreatedInput {
    /// Who called and when.
    pub metadata: HookMetadata,
    /// The user about to be created.
    pub user: AuthUser,
}

/// Sent by Supabase Auth after a new user has been committed (enabled through the
/// Management API on hosted projects, with `GOTRUE_HOOK_AFTER_USER_CREATED_*` on
/// self-hosted Auth).
#[derive(Object, Deserialize, Debug, Clone)]
pub struct AfterUserCreatedInput {
    /// Who called and when.
    pub metadata: HookMetadata,
    /// The user as stored.
    pub user: AuthUser,
}

/// `9999-12-31T23:59:59Z` in Unix seconds. Times are answered in RFC 3339, which has
/// four-digit years, so a token issued later (or before 1970) is refused.
const LAST_SECOND_OF_9999: i64 = 253_402_300_799;

/// A hook configured with the wrong URI would be applied with the wrong rules (an
/// OAuth sign-up's temporary id mirrored as real, say), so the name must match.
fn expect_name(metadata: Option<&HookMetadata>, expected: &str) -> Result<(), ParseError> {
    match metadata.and_then(|m| m.name.as_deref()) {
        Some(name) if name != expected => Err(ParseError::Shape(format!(
            "metadata.name: this endpoint takes the `{expected}` hook, not `{name}`; check the hook's URI"
        ))),
        _ => Ok(()),
    }
}

fn idempotency_key(metadata: Option<&HookMetadata>, webhook_id: &str) -> String {
    metadata.map_or_else(|| webhook_id.to_owned(), |m| m.uuid.to_string())
}

/// Go's zero time, which Supabase sends for a user not yet saved.
fn is_real(t: &DateTime<Utc>) -> bool {
    t.year() > 1
}

fn record_from_metadata(
    id: Uuid,
    version: DateTime<Utc>,
    email: Option<&str>,
    phone: Option<&str>,
    user_metadata: Option<&Value>,
    app_metadata: Option<&Value>,
    is_anonymous: Option<bool>,
) -> UserRecord {
    let user_metadata = object_or_empty(user_metadata);
    let app_metadata = object_or_empty(app_metadata);
    UserRecord {
        id,
        version: to_micros(version),
        email: non_empty(email),
        phone: non_empty(phone),
        name: person_name(&user_metadata),
        avatar_url: avatar_url(&user_metadata),
        auth_provider: provider(&app_metadata),
        providers: providers(&app_metadata),
        is_anonymous: is_anonymous.unwrap_or(false),
        user_metadata,
        app_metadata,
        activity: None,
        auth_created_at: None,
        provisional: false,
        metadata_blanked: false,
        is_sso_user: None,
    }
}

impl AuthUser {
    fn record(&self, version: DateTime<Utc>) -> UserRecord {
        let mut record = record_from_metadata(
            self.id,
            version,
            self.email.as_deref(),
            self.phone.as_deref(),
            self.user_metadata.as_ref(),
            self.app_metadata.as_ref(),
            self.is_anonymous,
        );
        record.activity = Some(Activity {
            email_confirmed_at: self.email_confirmed_at.map(to_micros),
            phone_confirmed_at: self.phone_confirmed_at.map(to_micros),
            last_sign_in_at: self.last_sign_in_at.map(to_micros),
            banned_until: self.banned_until.map(to_micros),
        });
        record.auth_created_at = self.created_at.filter(is_real).map(to_micros);
        record
    }

    /// Whether Supabase Auth blanked this user's `user_metadata`, as it does in an
    /// invited user's after-user-created: the metadata is `{}` only in the hook's body.
    fn metadata_blanked(&self) -> bool {
        let empty = object_or_empty(self.user_metadata.as_ref())
            .as_object()
            .is_some_and(serde_json::Map::is_empty);
        self.invited_at.is_some() && empty
    }

    /// Whether the id in a before-user-created call is the one the user will keep:
    /// true for email, phone, anonymous and invite sign-ups, false for OAuth, OIDC,
    /// SAML and Web3, where Supabase makes a fresh id afterwards.
    pub fn has_final_id(&self) -> bool {
        let app_metadata = object_or_empty(self.app_metadata.as_ref());
        self.is_anonymous == Some(true)
            || matches!(provider(&app_metadata).as_deref(), Some("email" | "phone"))
    }
}

impl CustomAccessTokenInput {
    /// The `claims` object of a body already parsed as this type, as JSON text exactly
    /// as sent: the answer hands every claim back unchanged, byte for byte.
    pub fn claims_text(body: &[u8]) -> Result<Cow<'_, str>, ParseError> {
        #[derive(Deserialize)]
        struct Claims<'a> {
            #[serde(borrow)]
            claims: &'a RawValue,
        }
        match serde_json::from_slice::<Claims>(body) {
            Ok(Claims { claims }) => Ok(Cow::Borrowed(claims.get())),
            // A body with a repeated key: its claims as a JSON value holds them.
            Err(_) => serde_json::from_slice::<Value>(body)
                .map(|body| body["claims"].to_string().into())
                .map_err(|e| ParseError::Syntax(e.to_string())),
        }
    }

    /// The mirror change: the user as the token's claims describe it, versioned by `iat`.
    pub fn delivery(&self, webhook_id: &str) -> Result<Delivery, ParseError> {
        expect_name(self.metadata.as_ref(), "customize-access-token")?;
        let version = Some(self.claims.iat)
            .filter(|iat| (0..=LAST_SECOND_OF_9999).contains(iat))
            .and_then(|iat| DateTime::from_timestamp(iat, 0))
            .ok_or_else(|| {
                ParseError::Shape("claims.iat: not a Unix time from 1970 to the end of 9999".into())
            })?;
        let c = &self.claims;
        let user = record_from_metadata(
            self.user_id,
            version,
            c.email.as_deref(),
            c.phone.as_deref(),
            c.user_metadata.as_ref(),
            c.app_metadata.as_ref(),
            c.is_anonymous,
        );
        Ok(Delivery {
            hook: HookKind::CustomAccessToken,
            idempotency_key: idempotency_key(self.metadata.as_ref(), webhook_id),
            webhook_id: webhook_id.to_owned(),
            change: UserChange::Upsert(Arc::new(user)),
        })
    }
}

impl BeforeUserCreatedInput {
    /// The mirror change: the new user when its id is final, otherwise nothing.
    pub fn delivery(&self, webhook_id: &str) -> Result<Delivery, ParseError> {
        expect_name(Some(&self.metadata), "before-user-created")?;
        let change = if self.user.has_final_id() {
            let mut record = self.user.record(self.metadata.time);
            // The sign-up can still roll back after this hook (supabase/auth
            // internal/api/signup.go): the user is provisional until confirmed.
            record.provisional = true;
            UserChange::Upsert(Arc::new(record))
        } else {
            UserChange::Skip("the id of an external-provider sign-up is temporary")
        };
        Ok(Delivery {
            hook: HookKind::BeforeUserCreated,
            idempotency_key: self.metadata.uuid.to_string(),
            webhook_id: webhook_id.to_owned(),
            change,
        })
    }

    /// The email the sign-up policy is checked against, if any.
    pub fn email(&self) -> Option<String> {
        non_empty(self.user.email.as_deref())
    }
}

impl AfterUserCreatedInput {
    /// The mirror change: the committed user, versioned by its `updated_at`.
    pub fn delivery(&self, webhook_id: &str) -> Result<Delivery, ParseError> {
        expect_name(Some(&self.metadata), "after-user-created")?;
        let version = self
            .user
            .updated_at
            .filter(is_real)
            .unwrap_or(self.metadata.time);
        let mut record = self.user.record(version);
        record.metadata_blanked = self.user.metadata_blanked();
        Ok(Delivery {
            hook: HookKind::AfterUserCreated,
            idempotency_key: self.metadata.uuid.to_string(),
            webhook_id: webhook_id.to_owned(),
            change: UserChange::Upsert(Arc::new(record)),
        })
    }
}
