//! Diesel table definitions for the PostgreSQL backend (matches `migrations/postgres`).

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        auth_provider -> Nullable<Text>,
        providers -> Array<Text>,
        is_anonymous -> Bool,
        email_confirmed_at -> Nullable<Timestamptz>,
        phone_confirmed_at -> Nullable<Timestamptz>,
        last_sign_in_at -> Nullable<Timestamptz>,
        user_metadata -> Jsonb,
        app_metadata -> Jsonb,
        is_onboarded -> Bool,
        auth_created_at -> Nullable<Timestamptz>,
        source_updated_at -> Timestamptz,
        activity_updated_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        provisional -> Bool,
        banned_until -> Nullable<Timestamptz>,
        is_sso_user -> Bool,
        policy_violation -> Bool,
    }
}

diesel::table! {
    profiles (user_id) {
        user_id -> Uuid,
        display_name -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        settings -> Jsonb,
    }
}

diesel::table! {
    webhook_events (idempotency_key) {
        idempotency_key -> Text,
        hook -> Text,
        webhook_id -> Text,
        user_id -> Nullable<Uuid>,
        outcome -> Text,
        received_at -> Timestamptz,
    }
}

diesel::joinable!(profiles -> users (user_id));

diesel::table! {
    deleted_users (id) {
        id -> Uuid,
        deleted_at -> Timestamptz,
        removed -> Bool,
    }
}

diesel::table! {
    reconcile_marks (source) {
        source -> Text,
        changed_since -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_events (position) {
        position -> BigInt,
        id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        user_id -> Uuid,
        sequence -> BigInt,
        recorded_at -> Timestamptz,
        data -> Jsonb,
    }
}

diesel::table! {
    push_endpoints (url) {
        url -> Text,
        queued_through -> BigInt,
        lease_until -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        disabled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    push_deliveries (url, position) {
        url -> Text,
        position -> BigInt,
        user_id -> Uuid,
        state -> Text,
        attempts -> Integer,
        queued_at -> Timestamptz,
        next_attempt_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    push_attempts (id) {
        id -> BigInt,
        url -> Text,
        event_id -> Uuid,
        position -> BigInt,
        attempted_at -> Timestamptz,
        status -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(users, profiles, webhook_events, deleted_users);

crate::storage::rows::row_columns!();
