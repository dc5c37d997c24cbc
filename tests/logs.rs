//! Nothing secret reaches the logs: not the password hash or tokens of an
//! auth.users row, not the hook secret, not a signature, not the admin token; and a
//! user flagged by the sign-up policy is reported by id, without its email.
//! Runs in its own test binary because it installs a global subscriber.

mod support;

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use support::{ADMIN_TOKEN, OTHER_SECRET, Options, SECRET, TestApp, fixture_json, now};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_token_signature_or_password_hash_is_ever_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let app = TestApp::spawn_with(Options {
        blocked_email_domains: vec!["example.com".into()],
        ..Options::default()
    })
    .await;
    let mut insert = fixture_json("db-insert-auth-users.json");
    insert["record"]["confirmation_token"] = json!("confirmation-SECRET-VALUE");
    insert["record"]["recovery_token"] = json!("recovery-SECRET-VALUE");
    let body = insert.to_string();
    let timestamp = now();
    let signature = supahook::signature::SigningKey::parse(SECRET)
        .unwrap()
        .sign("msg_logged", timestamp, body.as_bytes());

    let accepted = support::signed_request(
        &app.client,
        "/hooks/auth-users",
        body.as_bytes(),
        support::Signing::new("msg_logged", SECRET, timestamp),
    )
    .send()
    .await;
    let rejected = app
        .deliver_signed("/hooks/auth-users", body.as_bytes(), OTHER_SECRET, now())
        .await;
    let malformed = app
        .deliver(
            "/hooks/auth-users",
            b"{\"type\": \"INSERT\", \"record\": {\"encrypted_password\": \"$2a$10$x\"",
        )
        .await;
    let read = app
        .client
        .get("/v1/users/3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .send()
        .await;

    accepted.assert_status_is_ok();
    assert_eq!(rejected.0.status().as_u16(), 401);
    assert_eq!(malformed.0.status().as_u16(), 400);
    read.assert_status_is_ok();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("delivery applied"),
        "the capture works: {logs}"
    );
    assert!(
        logs.contains("user_id=3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14"),
        "the applied delivery names its user: {logs}"
    );
    let flagged: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("supahook::telemetry: a user has an email the sign-up"))
        .collect();
    assert_eq!(flagged.len(), 1, "{logs}");
    assert!(flagged[0].contains(" WARN "), "{}", flagged[0]);
    assert!(
        flagged[0].contains("user_id=3f1c2b7e-8d4a-4c6e-9b1f-2a7d5e9c0b14"),
        "{}",
        flagged[0]
    );
    assert!(!flagged[0].contains("@example.com"), "{}", flagged[0]);
    for secret in [
        "$2a$10$",
        "SECRET-VALUE",
        "encrypted_password",
        &SECRET["v1,whsec_".len()..],
        &OTHER_SECRET["v1,whsec_".len()..],
        &signature["v1,".len()..],
        ADMIN_TOKEN,
    ] {
        assert!(!logs.contains(secret), "`{secret}` appears in the logs");
    }
}
