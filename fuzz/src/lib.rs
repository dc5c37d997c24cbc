//! What the fuzz targets share: the path from verified bytes to a [`Delivery`], taken
//! through the same public functions the endpoints call, and the rules every
//! delivery that comes out of it must keep.

use chrono::{DateTime, Timelike, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;
use supahook::events::{self, Delivery, MAX_CONTACT_CHARS, ParseError, UserChange, UserRecord};
use supahook::signature::VerifiedBody;

/// The `webhook-id` the payload targets pretend their bodies were signed under.
pub const WEBHOOK_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";

/// One signed delivery of tests/fixtures/signing-vectors.json.
#[derive(Deserialize)]
pub struct SigningVector {
    /// The `v1,whsec_...` secrets it is signed with.
    pub secrets: Vec<String>,
    /// `webhook-id`, `webhook-timestamp` and `webhook-signature`.
    pub headers: HashMap<String, String>,
    /// The signed body.
    pub body: String,
    /// A time at which its timestamp is within tolerance.
    pub verify_with_now: i64,
}

impl SigningVector {
    /// One of its headers.
    pub fn header(&self, name: &str) -> &str {
        &self.headers[name]
    }
}

/// The signing vectors the seed corpora are made from.
pub fn signing_vectors() -> &'static [SigningVector] {
    #[derive(Deserialize)]
    struct File {
        vectors: Vec<SigningVector>,
    }
    static VECTORS: LazyLock<Vec<SigningVector>> = LazyLock::new(|| {
        let text = include_str!("../../tests/fixtures/signing-vectors.json");
        let file: File = serde_json::from_str(text).expect("the signing vectors parse");
        file.vectors
    });
    &VECTORS
}

/// Parses `bytes` as the payload `T` and maps it to its delivery, as the endpoint does
/// once the signature is checked; a delivery that comes out keeps [`check_delivery`].
pub fn delivery_of<T: DeserializeOwned>(
    bytes: &[u8],
    webhook_id: &str,
    delivery: impl Fn(&T, &str) -> Result<Delivery, ParseError>,
) -> Result<Delivery, ParseError> {
    let verified = VerifiedBody {
        webhook_id: Cow::Borrowed(webhook_id),
        bytes,
    };
    let input = events::parse::<T>(&verified)?;
    let delivery = delivery(&input, &verified.webhook_id)?;
    assert_eq!(delivery.webhook_id, webhook_id);
    check_delivery(&delivery);
    Ok(delivery)
}

/// The rules every delivery keeps, whatever the payload: a key to apply it once by,
/// times at the microsecond both databases store, and mirrored text that is trimmed,
/// non-empty and free of NUL characters (PostgreSQL cannot store them), with an email
/// and phone no longer than Supabase's own columns.
pub fn check_delivery(delivery: &Delivery) {
    assert!(!delivery.idempotency_key.is_empty(), "{delivery:?}");
    match &delivery.change {
        UserChange::Upsert(user) => check_user(user),
        UserChange::Delete(deletion) => {
            deletion.at.iter().for_each(check_time);
            if let Some(last) = &deletion.last {
                assert_eq!(last.id, deletion.id, "{delivery:?}");
                check_user(last);
            }
        }
        UserChange::Skip(reason) => assert!(!reason.is_empty()),
    }
}

fn check_user(user: &UserRecord) {
    check_time(&user.version);
    let activity = user.activity.iter().flat_map(|a| {
        [
            a.email_confirmed_at,
            a.phone_confirmed_at,
            a.last_sign_in_at,
        ]
    });
    activity
        .chain([user.auth_created_at])
        .flatten()
        .for_each(|t| check_time(&t));
    let texts = [
        &user.email,
        &user.phone,
        &user.name.first,
        &user.name.last,
        &user.avatar_url,
        &user.auth_provider,
    ];
    for text in texts.into_iter().flatten() {
        check_text(text);
    }
    for contact in [&user.email, &user.phone].into_iter().flatten() {
        assert!(contact.chars().count() <= MAX_CONTACT_CHARS, "{contact:?}");
    }
    for provider in &user.providers {
        assert!(!provider.contains('\0'), "{provider:?}");
    }
    for metadata in [&user.user_metadata, &user.app_metadata] {
        assert!(metadata.is_object(), "{metadata}");
        assert!(!holds_nul(metadata), "{metadata}");
    }
}

/// Whether a string or key anywhere in `value` holds a NUL character.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, item)| key.contains('\0') || holds_nul(item)),
        _ => false,
    }
}

fn check_text(text: &str) {
    assert!(!text.is_empty(), "empty text is stored as NULL");
    assert_eq!(text, text.trim(), "mirrored text is trimmed");
    assert!(!text.contains('\0'), "{text:?}");
}

fn check_time(t: &DateTime<Utc>) {
    assert_eq!(
        t.nanosecond() % 1_000,
        0,
        "{t} is not in whole microseconds"
    );
}

/// A delivery as the verify target reads its input: `name: value` header lines, an
/// empty line, then the body. Text that is not UTF-8 before the empty line means no
/// headers.
pub struct Request<'a> {
    headers: Vec<(&'a str, &'a str)>,
    /// Everything after the first empty line.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// Splits fuzzer input into headers and body.
    pub fn parse(data: &'a [u8]) -> Self {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (&data[..0], data),
        };
        let headers = std::str::from_utf8(head)
            .map(|head| {
                head.lines()
                    .filter_map(|line| line.split_once(": "))
                    .collect()
            })
            .unwrap_or_default();
        Self { headers, body }
    }

    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

/// Runs a verified body through every payload parser, as whichever endpoint
/// received it would.
pub fn parse_as_every_payload(verified: &VerifiedBody<'_>) {
    use supahook::events::{
        AfterUserCreatedInput, AuthUsersChange, BeforeUserCreatedInput, CustomAccessTokenInput,
    };
    let (bytes, id) = (verified.bytes, &*verified.webhook_id);
    let _ = delivery_of::<CustomAccessTokenInput>(bytes, id, CustomAccessTokenInput::delivery);
    let _ = delivery_of::<BeforeUserCreatedInput>(bytes, id, BeforeUserCreatedInput::delivery);
    let _ = delivery_of::<AfterUserCreatedInput>(bytes, id, AfterUserCreatedInput::delivery);
    let _ = delivery_of::<AuthUsersChange>(bytes, id, AuthUsersChange::delivery);
}
