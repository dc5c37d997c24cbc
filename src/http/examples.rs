//! Examples shown in the OpenAPI spec and `/docs` for the read API and the sync answer.

use super::deliveries::{DeliveryPage, DeliveryView};
use super::session_sync::SyncUserAnswer;
use super::user_view::{ProfileView, UserView};
use super::users::UserPage;
use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use serde_json::json;
use uuid::Uuid;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap_or(DateTime::UNIX_EPOCH)
}

const ADA: Uuid = Uuid::from_u128(0x3f1c2b7e_8d4a_4c6e_9b1f_2a7d5e9c0b14);

impl Example for ProfileView {
    fn example() -> Self {
        Self {
            display_name: Some("Ada Lovelace".into()),
            avatar_url: Some("https://images.example.com/ada.png".into()),
            settings: json!({ "theme": "dark" }),
            created_at: at("2026-01-15T09:30:12.5Z"),
            updated_at: at("2026-01-20T08:00:00Z"),
        }
    }
}

impl Example for UserView {
    fn example() -> Self {
        Self {
            id: ADA,
            email: Some("ada.lovelace@example.com".into()),
            phone: None,
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            avatar_url: Some("https://images.example.com/ada.png".into()),
            auth_provider: Some("email".into()),
            providers: vec!["email".into()],
            is_anonymous: false,
            email_confirmed_at: Some(at("2026-01-15T09:41:05.660127Z")),
            phone_confirmed_at: None,
            last_sign_in_at: Some(at("2026-01-15T09:45:00Z")),
            user_metadata: json!({ "full_name": "Ada Lovelace", "email_verified": true }),
            app_metadata: json!({ "provider": "email", "providers": ["email"] }),
            is_onboarded: true,
            auth_created_at: Some(at("2026-01-15T09:30:12.118347Z")),
            source_updated_at: at("2026-01-15T11:15:00Z"),
            activity_updated_at: Some(at("2026-01-15T09:45:00.118347Z")),
            deleted_at: None,
            provisional: false,
            banned_until: None,
            is_sso_user: false,
            policy_violation: false,
            created_at: at("2026-01-15T09:30:12.5Z"),
            updated_at: at("2026-01-15T11:15:00.2Z"),
            profile: Some(ProfileView::example()),
        }
    }
}

impl Example for SyncUserAnswer {
    fn example() -> Self {
        Self {
            created: true,
            outcome: "created".into(),
            user: UserView::example(),
            ignored: Vec::new(),
        }
    }
}

impl Example for UserPage {
    fn example() -> Self {
        Self {
            users: vec![UserView::example()],
            next_cursor: Some(ADA),
        }
    }
}

impl Example for DeliveryView {
    fn example() -> Self {
        Self {
            idempotency_key: "2b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e".into(),
            hook: "custom-access-token".into(),
            webhook_id: "msg_2Lh9xjOsM8Zl3Vw0".into(),
            user_id: Some(ADA),
            outcome: "updated".into(),
            received_at: at("2026-01-15T11:15:00.204885Z"),
        }
    }
}

impl Example for DeliveryPage {
    fn example() -> Self {
        Self {
            events: vec![DeliveryView::example()],
            next_cursor: Some("1768475700204885.2b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e".into()),
        }
    }
}
