use super::*;
use serde_json::json;

const ADA: &str = "3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses `body` as a `T`, dropping the kept JSON value.
fn parse_as<T: DeserializeOwned>(body: impl AsRef<[u8]>) -> Result<T, ParseError> {
    let verified = VerifiedBody {
        webhook_id: "wh_1".into(),
        bytes: body.as_ref(),
    };
    parse::<T>(&verified)
}

fn upserted(delivery: &Delivery) -> &UserRecord {
    match &delivery.change {
        UserChange::Upsert(user) => user,
        other => panic!("expected an upsert, got {other:?}"),
    }
}

/// A time on the day of the fixtures, from `hh:mm:ss[.fffffffff]`.
fn at(time: &str) -> DateTime<Utc> {
    format!("2026-01-15T{time}Z").parse().unwrap()
}

fn assert_shape_error_naming(error: &ParseError, field: &str) {
    let named = matches!(error, ParseError::Shape(m) if m.contains(field));
    assert!(named, "not a shape error naming `{field}`: {error}");
}

fn custom_access_token_json() -> Value {
    serde_json::from_slice(&fixture("custom-access-token.json")).unwrap()
}

#[test]
fn a_custom_access_token_call_upserts_the_user_versioned_by_iat() {
    let body = fixture("custom-access-token.json");
    let input = parse_as::<CustomAccessTokenInput>(&body).unwrap();

    let delivery = input.delivery("wh_1").unwrap();

    assert_eq!(delivery.hook, HookKind::CustomAccessToken);
    let metadata_uuid = input.metadata.as_ref().unwrap().uuid.to_string();
    assert_eq!(delivery.idempotency_key, metadata_uuid);
    let user = upserted(&delivery);
    assert_eq!(user.id, ADA.parse::<Uuid>().unwrap());
    let iat = DateTime::from_timestamp(1_768_475_700, 0).unwrap();
    assert_eq!(user.version, iat);
    assert_eq!(user.email.as_deref(), Some("ada.lovelace@example.com"));
    assert_eq!(user.phone, None);
    assert_eq!(user.activity, None);
    assert_eq!(user.auth_created_at, None);
}

#[test]
fn an_email_sign_up_before_creation_upserts_the_user_named_from_full_name() {
    let body = fixture("before-user-created.json");
    let input = parse_as::<BeforeUserCreatedInput>(&body).unwrap();

    let delivery = input.delivery("wh_1").unwrap();

    assert_eq!(delivery.hook, HookKind::BeforeUserCreated);
    assert_eq!(delivery.idempotency_key, input.metadata.uuid.to_string());
    let user = upserted(&delivery);
    assert_eq!(user.id, ADA.parse::<Uuid>().unwrap());
    assert_eq!(user.name.first.as_deref(), Some("Ada"));
    assert_eq!(user.name.last.as_deref(), Some("Lovelace"));
    assert_eq!(user.version, at("09:30:11.902318"));
    assert_eq!(user.auth_created_at, None, "Go's zero time is no time");
}

#[test]
fn an_oauth_sign_up_before_creation_is_skipped_because_its_id_is_temporary() {
    let body = fixture("before-user-created-oauth.json");
    let input = parse_as::<BeforeUserCreatedInput>(&body).unwrap();

    let delivery = input.delivery("wh_1").unwrap();

    assert!(matches!(delivery.change, UserChange::Skip(_)));
    assert_eq!(delivery.change.user_id(), None);
}

#[test]
fn an_after_user_created_call_is_versioned_by_the_users_updated_at() {
    let body = fixture("after-user-created.json");
    let input = parse_as::<AfterUserCreatedInput>(&body).unwrap();

    let delivery = input.delivery("wh_1").unwrap();

    assert_eq!(delivery.hook, HookKind::AfterUserCreated);
    assert_eq!(delivery.idempotency_key, input.metadata.uuid.to_string());
    let user = upserted(&delivery);
    assert_eq!(user.version, at("09:30:12.301901"));
    assert_eq!(user.activity, Some(Activity::default()));
    assert_eq!(user.auth_created_at, Some(at("09:30:12.118347")));
}

#[test]
fn a_custom_access_token_call_without_metadata_is_keyed_by_the_webhook_id() {
    let mut body = custom_access_token_json();
    body.as_object_mut().unwrap().remove("metadata");
    let input = parse_as::<CustomAccessTokenInput>(body.to_string()).unwrap();

    let delivery = input.delivery("wh_1").unwrap();

    assert_eq!(delivery.idempotency_key, "wh_1");
}

#[test]
fn an_audience_sent_as_an_array_is_accepted() {
    let mut body = custom_access_token_json();
    body["claims"]["aud"] = json!(["authenticated"]);

    let input = parse_as::<CustomAccessTokenInput>(body.to_string()).unwrap();

    assert_eq!(input.claims.aud, Some(json!(["authenticated"])));
    assert!(input.delivery("wh_1").is_ok());
}

#[test]
fn an_iat_before_1970_or_after_9999_is_a_shape_error_naming_the_claim() {
    let mut body = custom_access_token_json();
    for iat in [i64::MAX, 253_402_300_800, -1] {
        body["claims"]["iat"] = json!(iat);
        let input = parse_as::<CustomAccessTokenInput>(body.to_string()).unwrap();

        let error = input.delivery("wh_1").unwrap_err();

        assert_shape_error_naming(&error, "claims.iat");
    }
}

#[test]
fn a_body_that_is_not_json_is_a_syntax_error() {
    let result = parse_as::<CustomAccessTokenInput>(b"{\"user_id\": ");

    assert!(matches!(result, Err(ParseError::Syntax(_))));
}

#[test]
fn a_user_id_that_is_not_a_uuid_is_a_shape_error_naming_the_field() {
    let mut body = custom_access_token_json();
    body["user_id"] = json!("not-a-uuid");

    let error = parse_as::<CustomAccessTokenInput>(body.to_string()).unwrap_err();

    assert_shape_error_naming(&error, "user_id");
}

#[test]
fn missing_claims_are_a_shape_error_naming_the_field() {
    let mut body = custom_access_token_json();
    body.as_object_mut().unwrap().remove("claims");

    let error = parse_as::<CustomAccessTokenInput>(body.to_string()).unwrap_err();

    assert_shape_error_naming(&error, "claims");
}

fn name_of(metadata: Value) -> (Option<String>, Option<String>) {
    let name = person_name(&metadata);
    (name.first, name.last)
}

fn both(first: &str, last: &str) -> (Option<String>, Option<String>) {
    (Some(first.into()), Some(last.into()))
}

#[test]
fn first_and_last_name_win_over_given_and_family_name_which_win_over_full_name() {
    let mut metadata = json!({
        "first_name": "Ada", "last_name": "Lovelace",
        "given_name": "Augusta", "family_name": "Byron",
        "full_name": "Countess Lovelace", "name": "A. King",
    });
    assert_eq!(name_of(metadata.clone()), both("Ada", "Lovelace"));

    metadata
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !k.ends_with("t_name"));

    assert_eq!(name_of(metadata), both("Augusta", "Byron"));
}

#[test]
fn full_name_wins_over_name_and_splits_at_the_first_space() {
    let metadata = json!({ "full_name": "  Grace   Brewster Hopper ", "name": "G. Hopper" });

    assert_eq!(name_of(metadata), both("Grace", "Brewster Hopper"));
}

#[test]
fn name_is_used_when_nothing_else_is_present() {
    let metadata = json!({ "name": "Grace Hopper", "nickname": "Amazing Grace" });

    assert_eq!(name_of(metadata), both("Grace", "Hopper"));
}

#[test]
fn a_single_word_name_gives_a_first_name_only() {
    let metadata = json!({ "full_name": "Cher" });

    assert_eq!(name_of(metadata), (Some("Cher".into()), None));
}

#[test]
fn blank_and_non_string_name_claims_are_ignored() {
    let metadata = json!({
        "first_name": "   ", "last_name": 42,
        "given_name": null, "family_name": ["Byron"],
        "full_name": { "text": "Countess" }, "name": "Ada Lovelace",
    });

    assert_eq!(name_of(metadata), both("Ada", "Lovelace"));
    assert_eq!(name_of(json!({ "name": " " })), (None, None));
}

#[test]
fn avatar_url_wins_over_picture_and_picture_is_the_fallback() {
    let both_set = json!({ "avatar_url": "https://a/1.png", "picture": "https://p/2.png" });
    let blank_avatar = json!({ "avatar_url": " ", "picture": "https://p/2.png" });

    assert_eq!(avatar_url(&both_set).as_deref(), Some("https://a/1.png"));
    assert_eq!(
        avatar_url(&blank_avatar).as_deref(),
        Some("https://p/2.png")
    );
    assert_eq!(avatar_url(&json!({ "picture": 7 })), None);
}

#[test]
fn to_micros_drops_the_nanoseconds() {
    let precise = at("09:30:11.902318999");

    assert_eq!(to_micros(precise), at("09:30:11.902318"));
}

#[test]
fn to_micros_drops_the_nanoseconds_of_any_year() {
    let early: DateTime<Utc> = "1013-01-15T09:30:11.902318211Z".parse().unwrap();

    assert_eq!(
        to_micros(early),
        "1013-01-15T09:30:11.902318Z"
            .parse::<DateTime<Utc>>()
            .unwrap()
    );
}

#[test]
fn an_update_whose_old_record_is_another_user_is_a_shape_error_naming_old_record_id() {
    let mut change: Value =
        serde_json::from_slice(&fixture("db-update-auth-users-soft-delete.json")).unwrap();
    change["old_record"]["id"] = json!("3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e8c0b14");
    let input = parse_as::<AuthUsersChange>(change.to_string()).unwrap();

    let error = input.delivery("wh_1").unwrap_err();

    assert_shape_error_naming(&error, "old_record.id");
}

#[test]
fn non_empty_turns_blank_text_into_none_and_trims_the_rest() {
    assert_eq!(non_empty(Some("")), None);
    assert_eq!(non_empty(Some("  ")), None);
    assert_eq!(non_empty(None), None);
    assert_eq!(non_empty(Some(" 4155 ")).as_deref(), Some("4155"));
}

#[test]
fn a_hook_sent_to_the_wrong_endpoint_is_a_shape_error_naming_metadata_name() {
    let input =
        parse_as::<AfterUserCreatedInput>(fixture("before-user-created-oauth.json")).unwrap();

    let error = input.delivery("wh_1").unwrap_err();

    assert_shape_error_naming(&error, "metadata.name");
}

#[test]
fn the_field_of_a_shape_error_is_its_path_without_the_value() {
    let mut body = custom_access_token_json();
    body["claims"]["email"] = json!(42);

    let error = parse_as::<CustomAccessTokenInput>(body.to_string()).unwrap_err();

    assert_eq!(error.field(), "claims.email");
    assert_eq!(ParseError::Syntax("x".into()).field(), "body");
}

#[test]
fn each_source_says_whether_it_confirms_the_user_and_what_it_knows_of_bans_and_sso() {
    let before = parse_as::<BeforeUserCreatedInput>(fixture("before-user-created.json")).unwrap();
    let after = parse_as::<AfterUserCreatedInput>(fixture("after-user-created.json")).unwrap();
    let ban = parse_as::<AuthUsersChange>(fixture("db-update-auth-users-ban.json")).unwrap();

    let before = before.delivery("wh_1").unwrap();
    let after = after.delivery("wh_1").unwrap();
    let ban = ban.delivery("wh_1").unwrap();

    assert!(upserted(&before).provisional);
    assert!(!upserted(&after).provisional && !upserted(&after).metadata_blanked);
    assert_eq!(upserted(&after).is_sso_user, None, "hooks leave it out");
    let ban = upserted(&ban);
    assert!(!ban.provisional);
    assert_eq!(ban.is_sso_user, Some(false));
    let until = ban.activity.as_ref().and_then(|a| a.banned_until);
    assert_eq!(until, Some("2126-01-15T10:00:00Z".parse().unwrap()));
}

#[test]
fn an_invited_users_after_user_created_says_its_metadata_was_blanked() {
    let body = fixture("after-user-created-invited.json");
    let mut named: Value = serde_json::from_slice(&body).unwrap();
    named["user"]["user_metadata"] = json!({ "full_name": "Grace Hopper" });

    let blank = parse_as::<AfterUserCreatedInput>(&body).unwrap();
    let named = parse_as::<AfterUserCreatedInput>(named.to_string()).unwrap();

    assert!(upserted(&blank.delivery("wh_1").unwrap()).metadata_blanked);
    assert!(!upserted(&named.delivery("wh_1").unwrap()).metadata_blanked);
}
