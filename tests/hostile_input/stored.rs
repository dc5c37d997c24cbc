//! Odd but valid text through every endpoint, read back from the database exactly as
//! sent; and the limits themselves (an email or phone of 255 characters, a body of
//! 1 MiB), which are accepted.

use super::requests::*;
use crate::support::{TestApp, json, now};
use poem::http::Method;
use serde_json::{Value, json};
use supahook::events::MAX_CONTACT_CHARS;
use uuid::Uuid;

/// Text that is valid in any field, named by what makes it odd.
const ODD_TEXT: [(&str, &str); 8] = [
    ("SQL", "'; DROP TABLE users; --"),
    ("quotes and backslashes", r#"O'Brien \"x\" \\ \n \'; --"#),
    ("LIKE wildcards", "100% _of_ %users%"),
    ("emoji", "🦀 👩🏽‍💻 🇺🇦"),
    ("right-to-left", "\u{202E}שלום مرحبا"),
    ("combining marks", "e\u{301}\u{308} Z\u{335}\u{321}a\u{360}"),
    ("4-byte characters", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 𝟙"),
    ("a SQL comment opener", "/* x"),
];

/// The endpoints that mirror a user, each given the same odd text.
const MIRRORING: [&str; 5] = [
    CUSTOM_ACCESS_TOKEN,
    BEFORE_USER_CREATED,
    AFTER_USER_CREATED,
    AUTH_USERS,
    SYNC,
];

/// `user_metadata` and `app_metadata` with `text` in every mirrored field, and as a key.
fn metadata(text: &str) -> (Value, Value) {
    let user = json!({
        "first_name": text, "last_name": text, "avatar_url": text,
        text: [text, {text: text}],
    });
    let app = json!({"provider": text, "providers": ["email", text], text: text});
    (user, app)
}

/// A delivery to `path` mirroring the user `id` with `text` in every string field.
fn delivery(path: &str, id: &str, text: &str, webhook_id: &str) -> Request {
    let (user_metadata, app_metadata) = metadata(text);
    let fields = |body: Value, at: &str, [email, phone, user, app]: [&str; 4]| {
        let body = set(body, &format!("{at}/{email}"), json!(text));
        let body = set(body, &format!("{at}/{phone}"), json!(text));
        let body = set(body, &format!("{at}/{user}"), user_metadata.clone());
        set(body, &format!("{at}/{app}"), app_metadata.clone())
    };
    let token_fields = ["email", "phone", "user_metadata", "app_metadata"];
    let row_fields = ["email", "phone", "raw_user_meta_data", "raw_app_meta_data"];
    let body = match path {
        CUSTOM_ACCESS_TOKEN => fields(custom_access_token(id), "/claims", token_fields),
        // Anonymous, so that the id is final whatever the provider is called.
        BEFORE_USER_CREATED => set(
            fields(before_user_created(id), "/user", token_fields),
            "/user/is_anonymous",
            json!(true),
        ),
        AFTER_USER_CREATED => fields(after_user_created(id), "/user", token_fields),
        AUTH_USERS => fields(auth_users_insert(id), "/record", row_fields),
        _ => {
            let claims = fields(token_claims(id), "", token_fields);
            return sync(&token(&claims), Some(json!({"settings": {text: text}})));
        }
    };
    signed_as(path, body.to_string(), webhook_id, now())
}

/// The user as the read API shows it.
async fn read(app: &TestApp, id: &str) -> Value {
    let response = admin(Method::GET, &format!("{USERS}/{id}"), Vec::new())
        .send(&app.client)
        .await;
    json(response).await
}

/// Checks that the user `id` holds `text` in every mirrored field.
async fn assert_mirrored(app: &TestApp, id: &str, text: &str, case: &str) {
    let stored = app
        .db
        .user(id)
        .await
        .unwrap_or_else(|| panic!("{case}: not mirrored"));
    let user = &stored.user;
    let (user_metadata, app_metadata) = metadata(text);
    for (field, value) in [
        ("email", &user.email),
        ("phone", &user.phone),
        ("first_name", &user.first_name),
        ("last_name", &user.last_name),
        ("avatar_url", &user.avatar_url),
        ("auth_provider", &user.auth_provider),
    ] {
        assert_eq!(value.as_deref(), Some(text), "{case}: {field}");
    }
    assert_eq!(user.providers, ["email", text], "{case}: providers");
    assert_eq!(user.user_metadata, user_metadata, "{case}: user_metadata");
    assert_eq!(user.app_metadata, app_metadata, "{case}: app_metadata");
    let profile = stored.profile.as_ref().expect("a profile");
    let seeded_name = format!("{text} {text}");
    assert_eq!(
        profile.display_name.as_deref(),
        Some(seeded_name.as_str()),
        "{case}"
    );
    assert_eq!(
        profile.avatar_url.as_deref(),
        Some(text),
        "{case}: profile avatar"
    );
}

pub async fn check_every_endpoint(app: &TestApp) {
    for (n, (name, text)) in ODD_TEXT.into_iter().enumerate() {
        let webhook_id = format!("msg_{n} '; DROP TABLE webhook_events; -- \\ % _");
        for path in MIRRORING {
            let case = format!("{name} through {path}");
            let id = Uuid::new_v4().to_string();
            let request = delivery(path, &id, text, &webhook_id);

            let response = request.send(&app.client).await;

            assert_eq!(response.0.status().as_u16(), 200, "{case}");
            let answer = json(response).await;
            assert_mirrored(app, &id, text, &case).await;
            if path == CUSTOM_ACCESS_TOKEN {
                let sent: Value = serde_json::from_slice(&request.body).unwrap();
                assert_eq!(
                    answer["claims"], sent["claims"],
                    "{case}: the claims answered"
                );
            }
            if path == SYNC {
                let settings = &read(app, &id).await["profile"]["settings"];
                assert_eq!(settings, &json!({text: text}), "{case}: settings");
            }
        }
        let events = admin(Method::GET, "/v1/events?hook=auth-users", Vec::new())
            .send(&app.client)
            .await;
        let events = json(events).await;
        let logged = events["events"].as_array().unwrap().iter().any(|event| {
            event["webhook_id"] == webhook_id.as_str()
                && event["idempotency_key"] == webhook_id.as_str()
        });
        assert!(
            logged,
            "{name}: the webhook-id is in the ledger as sent: {events}"
        );
        let found = admin(Method::GET, USERS, Vec::new());
        let found = Request {
            // before-user-created's user is provisional: listed only when asked.
            path: format!("{USERS}?email={}&provisional=true", encode(text)),
            ..found
        };
        let found = json(found.send(&app.client).await).await;
        let emails: Vec<&Value> = found["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| &u["email"])
            .collect();
        assert_eq!(
            emails,
            vec![&json!(text); MIRRORING.len()],
            "{name}: found by email"
        );
        check_edit(app, text, name).await;
    }
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// The edit API stores `text` exactly too.
async fn check_edit(app: &TestApp, text: &str, name: &str) {
    let id = Uuid::new_v4().to_string();
    let arrange = delivery(
        AUTH_USERS,
        &id,
        "ada@example.com",
        &Uuid::new_v4().to_string(),
    );
    assert_eq!(arrange.send(&app.client).await.0.status().as_u16(), 200);
    let avatar = format!("https://cdn.example.com/{text}");
    let edit = json!({"display_name": text, "avatar_url": avatar, "settings": {text: [text]}});

    let response = edit_profile(&id, edit.to_string()).send(&app.client).await;

    assert_eq!(response.0.status().as_u16(), 200, "{name}: edit");
    let stored = app.db.user(&id).await.unwrap().profile.unwrap();
    assert_eq!(
        stored.display_name.as_deref(),
        Some(text),
        "{name}: display_name"
    );
    assert_eq!(stored.avatar_url, Some(avatar), "{name}: avatar_url");
    let settings = &read(app, &id).await["profile"]["settings"];
    assert_eq!(settings, &json!({text: [text]}), "{name}: settings");
}

pub async fn check_limits(app: &TestApp) {
    let at = "@example.com";
    let email = format!("{}{at}", "é".repeat(MAX_CONTACT_CHARS - at.len()));
    let phone = "𝟙".repeat(MAX_CONTACT_CHARS);
    let id = Uuid::new_v4().to_string();
    let mut claims = token_claims(&id);
    claims["email"] = json!(email);
    claims["phone"] = json!(phone);

    let response = sync(&token(&claims), None).send(&app.client).await;

    assert_eq!(response.0.status().as_u16(), 200);
    let user = app.db.user(&id).await.unwrap().user;
    assert_eq!(user.email, Some(email));
    assert_eq!(user.phone, Some(phone));

    let body = padded(MIB);
    assert_eq!(body.len(), MIB);

    let response = signed(AUTH_USERS, body).send(&app.client).await;

    assert_eq!(response.0.status().as_u16(), 200, "a body of exactly 1 MiB");
}
