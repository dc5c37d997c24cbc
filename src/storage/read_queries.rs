//! The read API's queries, written once for both backends: the SQL is the same, only
//! the types of some values differ. [`read_queries!`] is expanded inside each
//! backend's read module, where `users`, `profiles` and `webhook_events` are that
//! backend's tables, `UserRow` and `DeliveryRow` its rows, `PROFILE_DETAILS` and
//! `DELIVERY_ROW` its column lists, and diesel's and diesel-async's query traits are
//! in scope.

use diesel::sql_types::{Nullable, Text};

diesel::define_sql_function!(fn lower(x: Nullable<Text>) -> Nullable<Text>);

/// Implements the read API's queries on `$store`: `id` makes a user id column's value
/// from a `Uuid`, `time` a timestamp column's value from a time, and `error` turns a
/// query's error into a `StorageError`.
macro_rules! read_queries {
    ($store:ty, id: $id:expr, time: $time:expr, error: $error:expr $(,)?) => {
        impl $store {
            pub async fn user_details(
                &self,
                id: ::uuid::Uuid,
            ) -> Result<Option<$crate::storage::UserDetails>, $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                let found = users::table
                    .left_join(profiles::table)
                    .filter(users::id.eq(($id)(id)))
                    .select((users::all_columns, PROFILE_DETAILS.nullable()))
                    .first::<(UserRow, Option<$crate::storage::rows::ProfileDetailsRow>)>(&mut conn)
                    .await
                    .optional()
                    .map_err($error)?;
                Ok(found.map($crate::storage::rows::user_details))
            }

            pub async fn list_users(
                &self,
                filter: &$crate::storage::UserFilter,
                after: Option<::uuid::Uuid>,
                limit: usize,
            ) -> Result<Vec<$crate::storage::UserDetails>, $crate::storage::StorageError> {
                use $crate::storage::read_queries::lower;
                let mut conn = self.conn().await?;
                // Ids sort alike on both: as uuids, and as hyphenated lower-case hex text.
                let mut query = users::table
                    .left_join(profiles::table)
                    .select((users::all_columns, PROFILE_DETAILS.nullable()))
                    .order(users::id)
                    .limit(limit as i64)
                    .into_boxed();
                if let Some(after) = after {
                    query = query.filter(users::id.gt(($id)(after)));
                }
                if let Some(email) = &filter.email {
                    query = query.filter(lower(users::email).eq(email.to_lowercase()));
                }
                match filter.deleted {
                    Some(true) => query = query.filter(users::deleted_at.is_not_null()),
                    Some(false) => query = query.filter(users::deleted_at.is_null()),
                    None => {}
                }
                if let Some(since) = filter.updated_since {
                    query = query.filter(users::updated_at.ge(($time)(since)));
                }
                let rows: Vec<(UserRow, Option<$crate::storage::rows::ProfileDetailsRow>)> =
                    query.load(&mut conn).await.map_err($error)?;
                Ok(rows
                    .into_iter()
                    .map($crate::storage::rows::user_details)
                    .collect())
            }

            pub async fn list_deliveries(
                &self,
                filter: &$crate::storage::DeliveryFilter,
                cursor: Option<&$crate::storage::DeliveryCursor>,
                limit: usize,
            ) -> Result<Vec<$crate::storage::DeliveryRecord>, $crate::storage::StorageError> {
                use webhook_events::dsl as e;
                let mut conn = self.conn().await?;
                let mut query = e::webhook_events
                    .select(DELIVERY_ROW)
                    .order((e::received_at.desc(), e::idempotency_key.desc()))
                    .limit(limit as i64)
                    .into_boxed();
                if let Some(c) = cursor {
                    let at = ($time)(c.received_at);
                    query = query.filter(
                        e::received_at.lt(at).or(e::received_at
                            .eq(at)
                            .and(e::idempotency_key.lt(&c.idempotency_key))),
                    );
                }
                if let Some(outcome) = &filter.outcome {
                    query = query.filter(e::outcome.eq(outcome));
                }
                if let Some(hook) = &filter.hook {
                    query = query.filter(e::hook.eq(hook));
                }
                let rows: Vec<DeliveryRow> = query.load(&mut conn).await.map_err($error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            pub async fn profile_claim(
                &self,
                id: ::uuid::Uuid,
            ) -> Result<Option<$crate::storage::ProfileClaim>, $crate::storage::StorageError> {
                type Time = ::chrono::DateTime<::chrono::Utc>;
                let mut conn = self.conn().await?;
                let found = users::table
                    .left_join(profiles::table)
                    .filter(users::id.eq(($id)(id)))
                    .select((
                        users::is_onboarded,
                        profiles::display_name.nullable(),
                        profiles::updated_at.nullable(),
                    ))
                    .first::<(bool, Option<String>, Option<Time>)>(&mut conn)
                    .await
                    .optional()
                    .map_err($error)?;
                Ok(
                    found.map(|(is_onboarded, display_name, profile_updated_at)| {
                        $crate::storage::ProfileClaim {
                            is_onboarded,
                            display_name,
                            profile_updated_at,
                        }
                    }),
                )
            }
        }
    };
}
pub(super) use read_queries;
