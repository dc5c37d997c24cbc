//! Diesel table definitions for the SQLite backend (matches `migrations/sqlite`).
//!
//! Uuids are hyphenated text, `providers` is a JSON array in text, and
//! timestamps are text that diesel writes as UTC `%F %T%.f+00:00`.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        auth_provider -> Nullable<Text>,
        providers -> Text,
        is_anonymous -> Bool,
        email_confirmed_at -> Nullable<TimestamptzSqlite>,
        phone_confirmed_at -> Nullable<TimestamptzSqlite>,
        last_sign_in_at -> Nullable<TimestamptzSqlite>,
        user_metadata -> Json,
        app_metadata -> Json,
        is_onboarded -> Bool,
        auth_created_at -> Nullable<TimestamptzSqlite>,
        source_updated_at -> TimestamptzSqlite,
        activity_updated_at -> Nullable<TimestamptzSqlite>,
        deleted_at -> Nullable<TimestamptzSqlite>,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
        provisional -> Bool,
        banned_until -> Nullable<TimestamptzSqlite>,
        is_sso_user -> Bool,
        policy_violation -> Bool,
    }
}

diesel::table! {
    profiles (user_id) {
        user_id -> Text,
        display_name -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        created_at -> TimestamptzSqlite,
        updated_at -> TimestamptzSqlite,
        settings -> Json,
    }
}

diesel::table! {
    webhook_events (idempotency_key) {
        idempotency_key -> Text,
        hook -> Text,
        webhook_id -> Text,
        user_id -> Nullable<Text>,
        outcome -> Text,
        received_at -> TimestamptzSqlite,
    }
}

diesel::joinable!(profiles -> users (user_id));

diesel::table! {
    deleted_users (id) {
        id -> Text,
        deleted_at -> TimestamptzSqlite,
        removed -> Bool,
    }
}

diesel::table! {
    reconcile_marks (source) {
        source -> Text,
        changed_since -> TimestamptzSqlite,
        recorded_at -> TimestamptzSqlite,
    }
}

diesel::table! {
    outbox_events (position) {
        position -> BigInt,
        id -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        user_id -> Text,
        sequence -> BigInt,
        recorded_at -> TimestamptzSqlite,
        data -> Json,
    }
}

diesel::table! {
    push_endpoints (url) {
        url -> Text,
        queued_through -> BigInt,
        lease_until -> Nullable<TimestamptzSqlite>,
        disabled_at -> Nullable<TimestamptzSqlite>,
        disabled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    push_deliveries (url, position) {
        url -> Text,
        position -> BigInt,
        user_id -> Text,
        state -> Text,
        attempts -> Integer,
        queued_at -> TimestamptzSqlite,
        next_attempt_at -> TimestamptzSqlite,
        finished_at -> Nullable<TimestamptzSqlite>,
    }
}

diesel::table! {
    push_attempts (id) {
        id -> BigInt,
        url -> Text,
        event_id -> Text,
        position -> BigInt,
        attempted_at -> TimestamptzSqlite,
        status -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, profiles, webhook_events, deleted_users);

crate::storage::rows::row_columns!();

/// The columns of [`ProfileRow`](crate::storage::rows::ProfileRow).
pub const PROFILE_ROW: (
    profiles::user_id,
    profiles::display_name,
    profiles::avatar_url,
    profiles::created_at,
    profiles::updated_at,
) = (
    profiles::user_id,
    profiles::display_name,
    profiles::avatar_url,
    profiles::created_at,
    profiles::updated_at,
);
