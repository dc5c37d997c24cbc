//! A method a path does not accept is a 405 with the usual JSON error body and an
//! `Allow` header listing exactly the methods the path does accept (RFC 9110).

mod support;

use poem::http::Method;
use std::collections::BTreeSet;
use support::{TestApp, json};

/// The methods tried on every path.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// A user id to put in `{id}`.
const USER_ID: &str = "73844cbf-f828-5a46-858f-f098e1495336";

/// Each path of the served spec, with `{id}` filled in, and the methods its operations
/// name; `HEAD` goes with `GET`.
async fn served_paths(app: &TestApp) -> Vec<(String, BTreeSet<String>)> {
    let spec = json(app.client.get("/openapi.json").send().await).await;
    let paths = spec["paths"].as_object().expect("the spec has paths");
    paths
        .iter()
        .map(|(template, operations)| {
            let mut accepted: BTreeSet<String> = operations
                .as_object()
                .expect("operations by method")
                .keys()
                .map(|method| method.to_uppercase())
                .collect();
            if accepted.contains("GET") {
                accepted.insert("HEAD".to_owned());
            }
            (template.replace("{id}", USER_ID), accepted)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_method_a_path_does_not_accept_is_405_with_the_allowed_ones() {
    let app = TestApp::spawn().await;
    let paths = served_paths(&app).await;
    assert!(paths.len() >= 11, "the spec serves only {paths:?}");

    for (path, accepted) in &paths {
        for method in METHODS.iter().filter(|m| !accepted.contains(**m)) {
            let response = app
                .client
                .request(Method::from_bytes(method.as_bytes()).unwrap(), path)
                .send()
                .await;
            assert_eq!(response.0.status().as_u16(), 405, "{method} {path}");
            let allow: BTreeSet<String> = response
                .0
                .headers()
                .get("allow")
                .unwrap_or_else(|| panic!("{method} {path}: no Allow header"))
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_owned())
                .collect();
            assert_eq!(&allow, accepted, "{method} {path}");
            if *method == "HEAD" {
                continue; // an answer to HEAD has no body
            }
            let body = json(response).await;
            assert_eq!(body["error"]["http_code"], 405, "{method} {path}: {body}");
            assert_eq!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path}: {body}"
            );
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("Allow")),
                "{method} {path}: {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn head_is_answered_wherever_get_is() {
    let app = TestApp::spawn().await;

    let live = app.client.head("/health/live").send().await;
    assert_eq!(live.0.status().as_u16(), 200);
    let user = app
        .client
        .head(format!("/v1/users/{USER_ID}"))
        .header("authorization", format!("Bearer {}", support::ADMIN_TOKEN))
        .send()
        .await;
    assert_eq!(user.0.status().as_u16(), 404);
}
