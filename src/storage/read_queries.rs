//! The queries both backends share, written once: the SQL is the same, only the types
//! of some values differ. [`read_queries!`] is expanded inside each backend's read
//! module, where `users`, `profiles` and `webhook_events` are that backend's tables,
//! `Id` the Rust type of its user ids (`From<Uuid>`, `Into<Uuid>`), `UserRow` and
//! `DeliveryRow` its rows, `PROFILE_DETAILS` and `DELIVERY_ROW` its column lists, and diesel's and diesel-async's query traits are
//! in scope.

use diesel::sql_types::{Nullable, Text};

diesel::define_sql_function!(fn lower(x: Nullable<Text>) -> Nullable<Text>);

/// Implements [`Queries`](crate::storage::Queries) on `$store`: `time` makes a timestamp
/// column's value from a time, `error` turns a query's error into a `StorageError`,
/// `transaction` names the connection's method that runs a write transaction,
/// `writer`, when given, the store's lock that writers take their turn on first, and
/// `lock`, when given, the method that locks the user's row for a profile edit
/// (`for_update` where the backend has row locks), and `announce`, when given, the
/// function that announces, at the edit's commit, that the user's token claims changed.
macro_rules! read_queries {
    (
        $store:ty,
        time: $time:expr,
        error: $error:expr,
        transaction: $transaction:ident
        $(, writer: $writer:ident)?
        $(, lock: $lock:ident)?
        $(, announce: $announce:path)? $(,)?
    ) => {
        /// Which users [`user_ids`](Self::user_ids) lists.
        enum Which {
            /// Not marked deleted.
            Live,
            /// Provisional.
            Provisional,
        }

        impl $store {
            /// Ids of the users `which` names mirrored before `created_before`, in id
            /// order, after `after`, at most `limit`.
            async fn user_ids(
                &self,
                which: Which,
                after: Option<::uuid::Uuid>,
                limit: usize,
                created_before: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<Vec<::uuid::Uuid>, $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                let mut query = users::table
                    .filter(users::created_at.lt(($time)(created_before)))
                    .select(users::id)
                    .order(users::id)
                    .limit(limit as i64)
                    .into_boxed();
                query = match which {
                    Which::Live => query.filter(users::deleted_at.is_null()),
                    Which::Provisional => query.filter(users::provisional.eq(true)),
                };
                if let Some(after) = after {
                    query = query.filter(users::id.gt(Id::from(after)));
                }
                let ids: Vec<Id> = query.load(&mut conn).await.map_err($error)?;
                Ok(ids.into_iter().map(Into::into).collect())
            }
        }

        impl $crate::storage::Queries for $store {
            async fn edit_profile(
                &self,
                id: ::uuid::Uuid,
                changes: &$crate::storage::ProfileChanges,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<bool, $crate::storage::StorageError> {
                type Result<T> = ::std::result::Result<T, $crate::storage::StorageError>;
                let now = ($time)(now);
                $(let _turn = self.$writer.lock().await;)?
                let mut conn = self.conn().await?;
                conn.$transaction(async |conn| -> Result<bool> {
                    let exists = users::table
                        .find(Id::from(id))
                        .select(users::id)
                        $(.$lock())?
                        .first::<Id>(conn)
                        .await
                        .optional()?;
                    if exists.is_none() {
                        return Ok(false);
                    }
                    if let Some(flag) = changes.is_onboarded {
                        diesel::update(users::table.find(Id::from(id)))
                            .set((users::is_onboarded.eq(flag), users::updated_at.eq(now)))
                            .execute(conn)
                            .await?;
                    }
                    let empty = ::serde_json::Value::Object(Default::default());
                    let name = changes.display_name.as_ref();
                    let avatar = changes.avatar_url.as_ref();
                    let new = (
                        profiles::user_id.eq(Id::from(id)),
                        profiles::display_name.eq(name.and_then(|v| v.as_deref())),
                        profiles::avatar_url.eq(avatar.and_then(|v| v.as_deref())),
                        profiles::settings.eq(changes.settings.as_ref().unwrap_or(&empty)),
                        profiles::created_at.eq(now),
                        profiles::updated_at.eq(now),
                    );
                    // A field left out of the edit is left as it is.
                    let edit = (
                        name.map(|v| profiles::display_name.eq(v.as_deref())),
                        avatar.map(|v| profiles::avatar_url.eq(v.as_deref())),
                        changes.settings.as_ref().map(|v| profiles::settings.eq(v)),
                        profiles::updated_at.eq(now),
                    );
                    diesel::insert_into(profiles::table)
                        .values(new)
                        .on_conflict(profiles::user_id)
                        .do_update()
                        .set(edit)
                        .execute(conn)
                        .await?;
                    $($announce(conn, id).await?;)?
                    Ok(true)
                })
                .await
                .map_err($error)
            }

            async fn user_details(
                &self,
                id: ::uuid::Uuid,
            ) -> Result<Option<$crate::storage::UserDetails>, $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                let found = users::table
                    .left_join(profiles::table)
                    .filter(users::id.eq(Id::from(id)))
                    .select((users::all_columns, PROFILE_DETAILS.nullable()))
                    .first::<(UserRow, Option<$crate::storage::rows::ProfileDetailsRow>)>(&mut conn)
                    .await
                    .optional()
                    .map_err($error)?;
                Ok(found.map($crate::storage::rows::user_details))
            }

            async fn list_users(
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
                    query = query.filter(users::id.gt(Id::from(after)));
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
                if !filter.provisional {
                    query = query.filter(users::provisional.eq(false));
                }
                let rows: Vec<(UserRow, Option<$crate::storage::rows::ProfileDetailsRow>)> =
                    query.load(&mut conn).await.map_err($error)?;
                Ok(rows
                    .into_iter()
                    .map($crate::storage::rows::user_details)
                    .collect())
            }

            async fn list_deliveries(
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
                if let Some(user) = filter.user_id {
                    query = query.filter(e::user_id.eq(Id::from(user)));
                }
                if let Some(key) = &filter.idempotency_key {
                    query = query.filter(e::idempotency_key.eq(key));
                }
                let rows: Vec<DeliveryRow> = query.load(&mut conn).await.map_err($error)?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn profile_claim(
                &self,
                id: ::uuid::Uuid,
            ) -> Result<Option<$crate::storage::ProfileClaim>, $crate::storage::StorageError> {
                type Time = ::chrono::DateTime<::chrono::Utc>;
                let mut conn = self.conn().await?;
                let found = users::table
                    .left_join(profiles::table)
                    .filter(users::id.eq(Id::from(id)))
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

            async fn live_user_ids(
                &self,
                after: Option<::uuid::Uuid>,
                limit: usize,
                created_before: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<Vec<::uuid::Uuid>, $crate::storage::StorageError> {
                self.user_ids(Which::Live, after, limit, created_before).await
            }

            async fn provisional_user_ids(
                &self,
                after: Option<::uuid::Uuid>,
                limit: usize,
                created_before: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<Vec<::uuid::Uuid>, $crate::storage::StorageError> {
                self.user_ids(Which::Provisional, after, limit, created_before).await
            }

            async fn reconcile_mark(
                &self,
                source: &str,
            ) -> Result<Option<::chrono::DateTime<::chrono::Utc>>, $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                reconcile_marks::table
                    .find(source)
                    .select(reconcile_marks::changed_since)
                    .first(&mut conn)
                    .await
                    .optional()
                    .map_err($error)
            }

            async fn last_delivery(
                &self,
                hook: &str,
            ) -> Result<Option<::chrono::DateTime<::chrono::Utc>>, $crate::storage::StorageError> {
                use webhook_events::dsl as e;
                let mut conn = self.conn().await?;
                e::webhook_events
                    .filter(e::hook.eq(hook))
                    .select(e::received_at)
                    .order(e::received_at.desc())
                    .first(&mut conn)
                    .await
                    .optional()
                    .map_err($error)
            }

            async fn set_reconcile_mark(
                &self,
                source: &str,
                changed_since: ::chrono::DateTime<::chrono::Utc>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                let mark = (
                    reconcile_marks::changed_since.eq(($time)(changed_since)),
                    reconcile_marks::recorded_at.eq(($time)(now)),
                );
                diesel::insert_into(reconcile_marks::table)
                    .values((reconcile_marks::source.eq(source), mark))
                    .on_conflict(reconcile_marks::source)
                    .do_update()
                    .set(mark)
                    .execute(&mut conn)
                    .await
                    .map(drop)
                    .map_err($error)
            }

            async fn forget_deliveries(
                &self,
                received_before: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<usize, $crate::storage::StorageError> {
                let mut conn = self.conn().await?;
                let before = ($time)(received_before);
                diesel::delete(webhook_events::table.filter(webhook_events::received_at.lt(before)))
                    .execute(&mut conn)
                    .await
                    .map_err($error)
            }
        }
    };
}
pub(super) use read_queries;
