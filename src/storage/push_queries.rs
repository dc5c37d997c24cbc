//! The template of the push delivery queries, expanded in each backend's read module
//! where the `push_*` and `outbox_events` tables, `Id` and `Time` are that backend's.

/// Implements [`PushQueries`](crate::storage::PushQueries) on `$store`: `time` makes a
/// timestamp column's value and `time_sql` is its SQL type, `error` turns a query's
/// error into a `StorageError`, `transaction` names the connection's write transaction,
/// `writer` the store's lock writers queue on, `skip_locked` the claim's locking
/// clause (rows another replica claims are passed), and `multi_row` whether one
/// insert statement takes many rows.
macro_rules! push_queries {
    (
        $store:ty,
        time: $time:expr,
        time_sql: $time_sql:ty,
        error: $error:expr,
        transaction: $transaction:ident,
        skip_locked: $skip:literal,
        multi_row: $multi_row:tt
        $(, writer: $writer:ident)?
        $(,)?
    ) => {
        impl $crate::storage::PushQueries for $store {
            $crate::storage::push_writes::push_writes!(
                time: $time,
                time_sql: $time_sql,
                error: $error,
                transaction: $transaction,
                multi_row: $multi_row
                $(, writer: $writer)?
            );

            async fn claim_push_deliveries(
                &self,
                url: &str,
                now: ::chrono::DateTime<::chrono::Utc>,
                lease_until: ::chrono::DateTime<::chrono::Utc>,
                limit: usize,
            ) -> Result<Vec<$crate::storage::PushClaim>, $crate::storage::StorageError> {
                use diesel::sql_types::{BigInt, Text};
                use push_deliveries::dsl as d;
                let claimed: Vec<$crate::storage::push::Position> = {
                    $(let _turn = self.$writer.lock().await;)?
                    let mut conn = self.conn().await?;
                    diesel::sql_query($crate::storage::push::claim_sql($skip))
                        .bind::<$time_sql, _>(($time)(lease_until))
                        .bind::<Text, _>(url)
                        .bind::<$time_sql, _>(($time)(now))
                        .bind::<BigInt, _>(limit as i64)
                        .load(&mut conn)
                        .await
                        .map_err($error)?
                };
                if claimed.is_empty() {
                    return Ok(Vec::new());
                }
                let positions: Vec<i64> = claimed.iter().map(|c| c.position).collect();
                let mut conn = self.conn().await?;
                let rows: Vec<(i64, i32, ::chrono::DateTime<::chrono::Utc>)> =
                    d::push_deliveries
                        .select((d::position, d::attempts, d::queued_at))
                        .filter(d::url.eq(url))
                        .filter(d::position.eq_any(&positions))
                        .order(d::position)
                        .load(&mut conn)
                        .await
                        .map_err($error)?;
                use outbox_events::dsl as o;
                let events: Vec<$crate::storage::outbox::EventRow<Id>> = o::outbox_events
                    .select($crate::storage::outbox::event_columns!())
                    .filter(o::position.eq_any(&positions))
                    .load(&mut conn)
                    .await
                    .map_err($error)?;
                let mut events: ::std::collections::HashMap<i64, $crate::storage::RecordedEvent> =
                    events
                        .into_iter()
                        .map(|row| (row.0, $crate::storage::outbox::recorded(row)))
                        .collect();
                Ok(rows
                    .into_iter()
                    .map(|(position, attempts, queued_at)| $crate::storage::PushClaim {
                        position,
                        attempts,
                        queued_at,
                        event: events.remove(&position),
                    })
                    .collect())
            }

            async fn record_push_attempts(
                &self,
                attempts: &[($crate::storage::PushAttempt<'_>, $crate::storage::PushStep)],
            ) -> Result<(), $crate::storage::StorageError> {
                use $crate::storage::PushStep;
                use diesel::sql_types::{BigInt, Integer, Nullable, Text};
                use push_deliveries::dsl as d;
                use push_endpoints::dsl as p;
                type Result<T> = ::std::result::Result<T, $crate::storage::StorageError>;
                $(let _turn = self.$writer.lock().await;)?
                let mut conn = self.conn().await?;
                conn.$transaction(async |conn| -> Result<()> {
                  for (attempt, step) in attempts {
                    let at = ($time)(attempt.attempted_at);
                    diesel::sql_query(
                        "INSERT INTO push_attempts (url, event_id, position, attempted_at, \
                         status, latency_ms, error) SELECT $1, id, position, $2, $3, $4, $5 \
                         FROM outbox_events WHERE position = $6",
                    )
                    .bind::<Text, _>(attempt.url)
                    .bind::<$time_sql, _>(at)
                    .bind::<Nullable<Integer>, _>(attempt.status.map(i32::from))
                    .bind::<BigInt, _>(attempt.latency_ms)
                    .bind::<Nullable<Text>, _>(attempt.error)
                    .bind::<BigInt, _>(attempt.position)
                    .execute(conn)
                    .await?;
                    let row = d::push_deliveries.find((attempt.url, attempt.position));
                    let tried = d::attempts.eq(d::attempts + 1);
                    match step {
                        PushStep::Delivered | PushStep::Dead => {
                            let state = match step {
                                PushStep::Delivered => "delivered",
                                _ => "dead",
                            };
                            diesel::update(row)
                                .set((tried, d::state.eq(state), d::finished_at.eq(Some(at))))
                                .execute(conn)
                                .await?;
                        }
                        PushStep::RetryAt(next) => {
                            diesel::update(row)
                                .set((tried, d::next_attempt_at.eq(($time)(*next))))
                                .execute(conn)
                                .await?;
                        }
                        PushStep::Disable(reason) => {
                            diesel::update(row)
                                .set((tried, d::next_attempt_at.eq(at)))
                                .execute(conn)
                                .await?;
                            diesel::update(p::push_endpoints.find(attempt.url))
                                .set((
                                    p::disabled_at.eq(Some(at)),
                                    p::disabled_reason.eq(Some(reason.as_str())),
                                ))
                                .execute(conn)
                                .await?;
                        }
                    }
                  }
                    Ok(())
                })
                .await
                .map_err($error)
            }

            async fn push_endpoint_states(
                &self,
            ) -> Result<Vec<$crate::storage::PushEndpointState>, $crate::storage::StorageError> {
                use push_deliveries::dsl as d;
                use push_endpoints::dsl as p;
                type Time = ::chrono::DateTime<::chrono::Utc>;
                let mut conn = self.conn().await?;
                let endpoints: Vec<(String, i64, Option<Time>, Option<String>)> =
                    p::push_endpoints
                        .select((p::url, p::queued_through, p::disabled_at, p::disabled_reason))
                        .order(p::url)
                        .load(&mut conn)
                        .await
                        .map_err($error)?;
                let mut states = Vec::with_capacity(endpoints.len());
                for (url, queued_through, disabled_at, reason) in endpoints {
                    let pending = d::push_deliveries
                        .filter(d::url.eq(&url))
                        .filter(d::state.eq("pending"));
                    let outstanding: i64 = pending
                        .count()
                        .get_result(&mut conn)
                        .await
                        .map_err($error)?;
                    let oldest: Option<Time> = pending
                        .select(d::queued_at)
                        .order(d::queued_at)
                        .first(&mut conn)
                        .await
                        .optional()
                        .map_err($error)?;
                    // Events recorded after the cursor wait for it too (a batch on its
                    // way, or a worker that cannot keep up or is not running).
                    let after_cursor = outbox_events::dsl::outbox_events
                        .filter(outbox_events::dsl::position.gt(queued_through));
                    let unsent: i64 = after_cursor
                        .count()
                        .get_result(&mut conn)
                        .await
                        .map_err($error)?;
                    let oldest_unsent: Option<Time> = after_cursor
                        .select(outbox_events::dsl::recorded_at)
                        .order(outbox_events::dsl::position)
                        .first(&mut conn)
                        .await
                        .optional()
                        .map_err($error)?;
                    let dead: i64 = d::push_deliveries
                        .filter(d::url.eq(&url))
                        .filter(d::state.eq("dead"))
                        .count()
                        .get_result(&mut conn)
                        .await
                        .map_err($error)?;
                    states.push($crate::storage::PushEndpointState {
                        url,
                        queued_through,
                        disabled: disabled_at.map(|at| (at, reason.unwrap_or_default())),
                        outstanding: outstanding + unsent,
                        dead,
                        oldest_outstanding: match (oldest, oldest_unsent) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        },
                    });
                }
                Ok(states)
            }

            async fn list_push_attempts(
                &self,
                filter: &$crate::storage::PushAttemptFilter,
                limit: usize,
            ) -> Result<Vec<$crate::storage::PushAttemptRecord>, $crate::storage::StorageError>
            {
                use push_attempts::dsl as a;
                let mut query = a::push_attempts
                    .select((
                        a::id,
                        a::url,
                        a::event_id,
                        a::position,
                        a::attempted_at,
                        a::status,
                        a::latency_ms,
                        a::error,
                    ))
                    .order(a::id.desc())
                    .limit(limit as i64)
                    .into_boxed();
                if let Some(url) = &filter.url {
                    query = query.filter(a::url.eq(url.clone()));
                }
                if let Some(id) = filter.event_id {
                    query = query.filter(a::event_id.eq(Id::from(id)));
                }
                if let Some(before) = filter.before {
                    query = query.filter(a::id.lt(before));
                }
                let mut conn = self.conn().await?;
                let rows: Vec<$crate::storage::push::AttemptRow<Id, ::chrono::DateTime<::chrono::Utc>>> =
                    query.load(&mut conn).await.map_err($error)?;
                Ok(rows.into_iter().map($crate::storage::push::attempt_record).collect())
            }
        }
    };
}
pub(super) use push_queries;
