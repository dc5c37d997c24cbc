//! The write half of the push delivery queries ([`push_queries!`](super::push_queries)
//! expands it inside its implementation): endpoints registered, batches of new events
//! leased and recorded, redeliveries queued, history forgotten.

/// Inserts `rows` into `table`, passing rows already there: in one multi-row statement
/// when the backend takes one (`true`), else one statement a row (SQLite's single
/// writer, where a statement costs no round trip).
macro_rules! insert_rows {
    (true, $conn:ident, $table:expr, $rows:expr) => {
        if !$rows.is_empty() {
            diesel::insert_into($table)
                .values($rows)
                .on_conflict_do_nothing()
                .execute($conn)
                .await?;
        }
    };
    (false, $conn:ident, $table:expr, $rows:expr) => {
        for row in $rows {
            diesel::insert_into($table)
                .values(row)
                .on_conflict_do_nothing()
                .execute($conn)
                .await?;
        }
    };
}
pub(super) use insert_rows;

/// The write methods of [`PushQueries`](crate::storage::PushQueries), with the
/// parameters of `push_queries!` (`multi_row`: whether one insert takes many rows).
macro_rules! push_writes {
    (
        time: $time:expr,
        time_sql: $time_sql:ty,
        error: $error:expr,
        transaction: $transaction:ident,
        multi_row: $multi_row:tt
        $(, writer: $writer:ident)?
    ) => {
            async fn register_push_endpoints(
                &self,
                urls: &[&str],
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<(), $crate::storage::StorageError> {
                use diesel::sql_types::Text;
                type Result<T> = ::std::result::Result<T, $crate::storage::StorageError>;
                let urls: Vec<String> = urls.iter().map(|u| (*u).to_owned()).collect();
                let now = ($time)(now);
                $(let _turn = self.$writer.lock().await;)?
                let mut conn = self.conn().await?;
                conn.$transaction(async |conn| -> Result<()> {
                    for url in &urls {
                        // A new endpoint starts at the newest event; a known one is enabled again.
                        diesel::sql_query(
                            "INSERT INTO push_endpoints (url, queued_through) \
                             SELECT $1, COALESCE(MAX(position), 0) FROM outbox_events WHERE TRUE \
                             ON CONFLICT (url) DO UPDATE SET disabled_at = NULL, \
                             disabled_reason = NULL",
                        )
                        .bind::<Text, _>(url)
                        .execute(conn)
                        .await?;
                    }
                    use push_endpoints::dsl as p;
                    diesel::update(
                        p::push_endpoints
                            .filter(p::disabled_at.is_null())
                            .filter(p::url.ne_all(&urls)),
                    )
                    .set((
                        p::disabled_at.eq(Some(now)),
                        p::disabled_reason.eq(Some("no longer configured")),
                    ))
                    .execute(conn)
                    .await?;
                    Ok(())
                })
                .await
                .map_err($error)
            }

            async fn lease_push_batch(
                &self,
                url: &str,
                types: Option<&[&str]>,
                limit: usize,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease_until: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<Option<$crate::storage::PushBatch>, $crate::storage::StorageError> {
                use diesel::sql_types::{BigInt, Text};
                use outbox_events::dsl as o;
                use push_deliveries::dsl as d;
                // Positions are given in commit order: every event up to `newest` is in.
                let newest: Option<i64> = o::outbox_events
                    .select(diesel::dsl::max(o::position))
                    .first(&mut self.conn().await?)
                    .await
                    .map_err($error)?;
                let Some(newest) = newest else {
                    return Ok(None);
                };
                let leased: Vec<$crate::storage::push::Position> = {
                    $(let _turn = self.$writer.lock().await;)?
                    let mut conn = self.conn().await?;
                    diesel::sql_query($crate::storage::push::LEASE_SQL)
                        .bind::<$time_sql, _>(($time)(lease_until))
                        .bind::<Text, _>(url)
                        .bind::<BigInt, _>(newest)
                        .bind::<$time_sql, _>(($time)(now))
                        .load(&mut conn)
                        .await
                        .map_err($error)?
                };
                let Some(from) = leased.into_iter().next().map(|p| p.position) else {
                    return Ok(None);
                };
                let mut conn = self.conn().await?;
                let mut query = o::outbox_events
                    .select($crate::storage::outbox::event_columns!())
                    .filter(o::position.gt(from))
                    .filter(o::position.le(newest))
                    .order(o::position)
                    .limit(limit as i64)
                    .into_boxed();
                if let Some(types) = types {
                    query = query.filter(o::type_.eq_any(types.to_vec()));
                }
                let rows: Vec<$crate::storage::outbox::EventRow<Id>> =
                    query.load(&mut conn).await.map_err($error)?;
                let events: Vec<$crate::storage::RecordedEvent> =
                    rows.into_iter().map($crate::storage::outbox::recorded).collect();
                let through = match events.len() >= limit {
                    true => events.last().map_or(newest, |e| e.position),
                    false => newest,
                };
                let users: Vec<Id> = events.iter().map(|e| Id::from(e.user_id)).collect();
                let held: Vec<Id> = match users.is_empty() {
                    true => Vec::new(),
                    false => d::push_deliveries
                        .select(d::user_id)
                        .filter(d::url.eq(url))
                        .filter(d::state.eq("pending"))
                        .filter(d::user_id.eq_any(users))
                        .distinct()
                        .load(&mut conn)
                        .await
                        .map_err($error)?,
                };
                let held: ::std::collections::HashSet<::uuid::Uuid> =
                    held.into_iter().map(Into::into).collect();
                Ok(Some($crate::storage::PushBatch {
                    from,
                    through,
                    events: events
                        .into_iter()
                        .map(|e| {
                            let waits = held.contains(&e.user_id);
                            (e, waits)
                        })
                        .collect(),
                }))
            }

            async fn record_push_batch(
                &self,
                result: &$crate::storage::PushBatchResult<'_>,
            ) -> Result<(), $crate::storage::StorageError> {
                use push_attempts::dsl as a;
                use push_deliveries::dsl as d;
                use push_endpoints::dsl as p;
                type Result<T> = ::std::result::Result<T, $crate::storage::StorageError>;
                let attempts: Vec<_> = result
                    .attempts
                    .iter()
                    .filter_map(|t| {
                        Some((
                            a::url.eq(t.url),
                            a::event_id.eq(Id::from(t.event_id?)),
                            a::position.eq(t.position),
                            a::attempted_at.eq(($time)(t.attempted_at)),
                            a::status.eq(t.status.map(i32::from)),
                            a::latency_ms.eq(t.latency_ms),
                            a::error.eq(t.error),
                        ))
                    })
                    .collect();
                let queued_at = ($time)(result.queued_at);
                let queued: Vec<_> = result
                    .queued
                    .iter()
                    .map(|q| {
                        (
                            d::url.eq(result.url),
                            d::position.eq(q.position),
                            d::user_id.eq(Id::from(q.user_id)),
                            d::state.eq(match q.dead_at {
                                Some(_) => "dead",
                                None => "pending",
                            }),
                            d::attempts.eq(q.attempts),
                            d::queued_at.eq(queued_at),
                            d::next_attempt_at.eq(($time)(q.next_attempt_at)),
                            d::finished_at.eq(q.dead_at.map($time)),
                        )
                    })
                    .collect();
                let unleased = None::<::chrono::DateTime<::chrono::Utc>>.map($time);
                let disabled = result.disable.as_deref().map(|r| (queued_at, r));
                $(let _turn = self.$writer.lock().await;)?
                let mut conn = self.conn().await?;
                conn.$transaction(async |conn| -> Result<()> {
                    $crate::storage::push_writes::insert_rows!(
                        $multi_row, conn, a::push_attempts, attempts
                    );
                    $crate::storage::push_writes::insert_rows!(
                        $multi_row, conn, d::push_deliveries, queued
                    );
                    // Moved only from where the batch was taken: a replica that took
                    // over an expired lease and moved on is not set back.
                    diesel::update(
                        p::push_endpoints
                            .filter(p::url.eq(result.url))
                            .filter(p::queued_through.eq(result.from)),
                    )
                    .set((
                        p::queued_through.eq(result.through),
                        p::lease_until.eq(unleased),
                    ))
                    .execute(conn)
                    .await?;
                    if let Some((at, reason)) = disabled {
                        diesel::update(p::push_endpoints.find(result.url))
                            .set((p::disabled_at.eq(Some(at)), p::disabled_reason.eq(Some(reason))))
                            .execute(conn)
                            .await?;
                    }
                    Ok(())
                })
                .await
                .map_err($error)
            }

            async fn requeue_push_events(
                &self,
                window: &$crate::storage::RedeliverWindow<'_>,
                now: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<usize, $crate::storage::StorageError> {
                use diesel::sql_types::Text;
                let sql = $crate::storage::push::queue_sql(
                    "o.recorded_at >= $4 AND o.recorded_at < $5",
                    &$crate::storage::push::type_condition(window.types),
                );
                let now = ($time)(now);
                $(let _turn = self.$writer.lock().await;)?
                let mut conn = self.conn().await?;
                diesel::sql_query(sql)
                    .bind::<Text, _>(window.url)
                    .bind::<$time_sql, _>(now)
                    .bind::<$time_sql, _>(now)
                    .bind::<$time_sql, _>(($time)(window.since))
                    .bind::<$time_sql, _>(($time)(window.until))
                    .execute(&mut conn)
                    .await
                    .map_err($error)
            }

            async fn forget_push_history(
                &self,
                before: ::chrono::DateTime<::chrono::Utc>,
            ) -> Result<usize, $crate::storage::StorageError> {
                use push_attempts::dsl as a;
                use push_deliveries::dsl as d;
                let before = ($time)(before);
                $(let _turn = self.$writer.lock().await;)?
                let mut conn = self.conn().await?;
                let attempts = diesel::delete(a::push_attempts.filter(a::attempted_at.lt(before)))
                    .execute(&mut conn)
                    .await
                    .map_err($error)?;
                let finished = diesel::delete(
                    d::push_deliveries
                        .filter(d::state.ne("pending"))
                        .filter(d::finished_at.lt(before)),
                )
                .execute(&mut conn)
                .await
                .map_err($error)?;
                Ok(attempts + finished)
            }
    };
}
pub(super) use push_writes;
