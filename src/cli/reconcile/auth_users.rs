//! Reads `auth.users` from the Supabase database, page by page, for `reconcile`.
//!
//! Only the mirrored columns are selected; the password hash and tokens never
//! leave the source database.

use crate::events::AuthUserRow;
use crate::infra::pg_connect::PgTarget;
use chrono::{DateTime, Utc};
use diesel::dsl::AsExprOf;
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

mod schema {
    diesel::table! {
        auth.users (id) {
            id -> Uuid,
            email -> Nullable<Text>,
            phone -> Nullable<Text>,
            raw_user_meta_data -> Nullable<Jsonb>,
            raw_app_meta_data -> Nullable<Jsonb>,
            is_anonymous -> Bool,
            email_confirmed_at -> Nullable<Timestamptz>,
            phone_confirmed_at -> Nullable<Timestamptz>,
            last_sign_in_at -> Nullable<Timestamptz>,
            created_at -> Nullable<Timestamptz>,
            updated_at -> Nullable<Timestamptz>,
            deleted_at -> Nullable<Timestamptz>,
            banned_until -> Nullable<Timestamptz>,
            is_sso_user -> Bool,
        }
    }

    diesel::table! {
        supahook.user_versions (id) {
            id -> Uuid,
            changed_at -> Timestamptz,
        }
    }

    diesel::allow_tables_to_appear_in_same_query!(users, user_versions);
}

use schema::{user_versions, users};

/// The source database could not be read. Each message is whole: it carries its
/// cause in the text, not again as a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The connection string cannot be used.
    #[error("the source database URL is invalid: {0}")]
    Url(String),
    /// No connection could be made.
    #[error("source database: {0}")]
    Connect(String),
    /// The database refused the connection for a reason that will not pass by itself
    /// (see [`crate::infra::pg_connect::refusal`]).
    #[error("the source database refuses supahook: {0}")]
    Refused(String),
    /// A query failed (for example: no `auth.users` table).
    #[error("cannot read auth.users from the source database: {0}")]
    Query(String),
}

impl From<diesel::result::Error> for SourceError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Query(error.to_string())
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct SourceRow {
    id: Uuid,
    email: Option<String>,
    phone: Option<String>,
    raw_user_meta_data: Option<Value>,
    raw_app_meta_data: Option<Value>,
    is_anonymous: bool,
    email_confirmed_at: Option<DateTime<Utc>>,
    phone_confirmed_at: Option<DateTime<Utc>>,
    last_sign_in_at: Option<DateTime<Utc>>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    deleted_at: Option<DateTime<Utc>>,
    banned_until: Option<DateTime<Utc>>,
    is_sso_user: bool,
}

impl From<SourceRow> for AuthUserRow {
    fn from(r: SourceRow) -> Self {
        Self {
            id: r.id,
            email: r.email,
            phone: r.phone,
            raw_user_meta_data: r.raw_user_meta_data,
            raw_app_meta_data: r.raw_app_meta_data,
            is_anonymous: Some(r.is_anonymous),
            email_confirmed_at: r.email_confirmed_at,
            phone_confirmed_at: r.phone_confirmed_at,
            last_sign_in_at: r.last_sign_in_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            banned_until: r.banned_until,
            is_sso_user: Some(r.is_sso_user),
        }
    }
}

/// One row of `auth.users` with the time of its last change, when supahook's
/// trigger recorded it.
#[derive(Debug, Clone)]
pub struct SourceUser {
    /// The row's mirrored columns.
    pub row: AuthUserRow,
    /// From `supahook.user_versions`; `None` for rows the trigger has not seen change.
    pub changed_at: Option<DateTime<Utc>>,
}

/// A connection to the Supabase database.
pub struct AuthUsersSource {
    conn: AsyncPgConnection,
    /// Whether the signed trigger's `supahook.user_versions` table exists there.
    has_versions: bool,
    /// Which database this is (`postgres://host:port/dbname`), whatever the URL's options.
    identity: String,
}

/// `updated_at` (or `created_at` while it is NULL) at or after `since`. Supabase Auth
/// moves `updated_at` on each of its own writes, sign-ins included; a direct SQL edit
/// leaves it alone, which `supahook.user_versions` covers where the trigger runs.
fn auth_changed_since(
    since: DateTime<Utc>,
) -> UncheckedBind<SqlLiteral<Bool>, AsExprOf<DateTime<Utc>, Timestamptz>> {
    diesel::dsl::sql::<Bool>("coalesce(auth.users.updated_at, auth.users.created_at) >= ")
        .bind::<Timestamptz, _>(since)
}

impl AuthUsersSource {
    /// Connects to the source database.
    pub async fn connect(url: &str) -> Result<Self, SourceError> {
        let target = PgTarget::parse(url).map_err(|e| SourceError::Url(e.to_string()))?;
        let mut conn = target.connect().await.map_err(|e| match target.refusal() {
            Some(refusal) => SourceError::Refused(refusal.to_string()),
            None => SourceError::Connect(e.to_string()),
        })?;
        let has_versions = diesel::select(diesel::dsl::sql::<Bool>(
            "to_regclass('supahook.user_versions') IS NOT NULL",
        ))
        .get_result(&mut conn)
        .await?;
        Ok(Self {
            conn,
            has_versions,
            identity: target.identity(),
        })
    }

    /// Which database this is, the same whatever the URL's options or password.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The source database's clock: the time the rows read from now on were read at.
    pub async fn now(&mut self) -> Result<DateTime<Utc>, SourceError> {
        let now = diesel::select(diesel::dsl::sql::<Timestamptz>("clock_timestamp()"))
            .get_result(&mut self.conn)
            .await?;
        Ok(now)
    }

    /// How many rows `auth.users` holds, or how many of them changed since `since`.
    pub async fn count(&mut self, since: Option<DateTime<Utc>>) -> Result<u64, SourceError> {
        let n: i64 = match (since, self.has_versions) {
            (None, _) => users::table.count().get_result(&mut self.conn).await?,
            (Some(since), false) => {
                users::table
                    .filter(auth_changed_since(since))
                    .count()
                    .get_result(&mut self.conn)
                    .await?
            }
            (Some(since), true) => {
                users::table
                    .left_join(user_versions::table.on(user_versions::id.eq(users::id)))
                    .filter(
                        auth_changed_since(since).or(user_versions::changed_at
                            .nullable()
                            .ge(since)
                            .assume_not_null()),
                    )
                    .count()
                    .get_result(&mut self.conn)
                    .await?
            }
        };
        Ok(n.max(0) as u64)
    }

    /// Whether a user with this id exists upstream.
    pub async fn contains(&mut self, id: Uuid) -> Result<bool, SourceError> {
        let found: Option<Uuid> = users::table
            .find(id)
            .select(users::id)
            .first(&mut self.conn)
            .await
            .optional()?;
        Ok(found.is_some())
    }

    /// Up to `limit` ids of `auth.users` greater than `after`, in id order: the
    /// primary key's index alone, for comparing the sets of users.
    pub async fn ids(
        &mut self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<Uuid>, SourceError> {
        let ids = users::table
            .select(users::id)
            .filter(users::id.gt(after.unwrap_or(Uuid::nil())))
            .order(users::id)
            .limit(limit as i64)
            .load(&mut self.conn)
            .await?;
        Ok(ids)
    }

    /// Up to `limit` rows with an id greater than `after`, in id order; with `since`,
    /// only rows changed since then.
    pub async fn page(
        &mut self,
        after: Option<Uuid>,
        limit: usize,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<SourceUser>, SourceError> {
        let after = after.unwrap_or(Uuid::nil());
        let rows: Vec<(SourceRow, Option<DateTime<Utc>>)> = if self.has_versions {
            let mut query = users::table
                .left_join(user_versions::table.on(user_versions::id.eq(users::id)))
                .select((SourceRow::as_select(), user_versions::changed_at.nullable()))
                .filter(users::id.gt(after))
                .order(users::id)
                .limit(limit as i64)
                .into_boxed();
            if let Some(since) = since {
                query = query.filter(
                    auth_changed_since(since).or(user_versions::changed_at
                        .nullable()
                        .ge(since)
                        .assume_not_null()),
                );
            }
            query.load(&mut self.conn).await?
        } else {
            let no_version = diesel::dsl::sql::<Nullable<Timestamptz>>("NULL");
            let mut query = users::table
                .select((SourceRow::as_select(), no_version))
                .filter(users::id.gt(after))
                .order(users::id)
                .limit(limit as i64)
                .into_boxed();
            if let Some(since) = since {
                query = query.filter(auth_changed_since(since));
            }
            query.load(&mut self.conn).await?
        };
        Ok(rows
            .into_iter()
            .map(|(row, changed_at)| SourceUser {
                row: row.into(),
                changed_at,
            })
            .collect())
    }
}
