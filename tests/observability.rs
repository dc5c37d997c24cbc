//! deploy/observability against the real app: the PrometheusRule holds the same groups
//! as the plain rules file, and every metric the rules and the Grafana dashboard name
//! is one the app exports at /metrics. (promtool checks the rules' syntax and runs
//! their unit tests in .ci/run.)

mod support;

use std::collections::BTreeSet;
use support::{Options, TestApp, fixture};

const RULES: &str = include_str!("../deploy/observability/supahook.rules.yaml");
const PROMETHEUS_RULE: &str = include_str!("../deploy/observability/prometheusrule.yaml");
const DASHBOARD: &str = include_str!("../deploy/observability/grafana-dashboard.json");

/// Every `supahook_*` name in `expr`.
fn metric_names(expr: &str) -> impl Iterator<Item = String> + '_ {
    expr.match_indices("supahook_").map(move |(at, _)| {
        expr[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    })
}

/// The expressions of the rules file's alerts.
fn rule_exprs(groups: &serde_yaml::Value) -> Vec<String> {
    let groups = groups.as_sequence().expect("groups is a list");
    groups
        .iter()
        .flat_map(|group| group["rules"].as_sequence().expect("a group's rules"))
        .map(|rule| rule["expr"].as_str().expect("an expr").to_owned())
        .collect()
}

/// The expressions of the dashboard's panels.
fn dashboard_exprs() -> Vec<String> {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).expect("valid JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().expect("a panel's targets"))
        .map(|target| target["expr"].as_str().expect("a target's expr").to_owned())
        .collect()
}

/// The metric names in a Prometheus text exposition.
fn exported(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| line.split(['{', ' ']).next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_prometheus_rule_holds_the_rules_file_groups() {
    let rules: serde_yaml::Value = serde_yaml::from_str(RULES).expect("valid YAML");
    let resource: serde_yaml::Value = serde_yaml::from_str(PROMETHEUS_RULE).expect("valid YAML");
    assert_eq!(resource["kind"].as_str(), Some("PrometheusRule"));
    assert_eq!(resource["spec"]["groups"], rules["groups"]);
    let alerts = rule_exprs(&rules["groups"]);
    assert_eq!(alerts.len(), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_the_rules_and_the_dashboard_name_is_exported() {
    let data_dir = std::env::temp_dir().join(format!("supahook-obs-{}", uuid::Uuid::new_v4()));
    let mut options = Options::open_mode(&data_dir);
    // An event endpoint (nothing listens there), so that its gauges are exported.
    options.env.extend([
        (
            "SUPAHOOK_EVENTS_ENDPOINTS",
            "http://127.0.0.1:9/hook".to_owned(),
        ),
        (
            "SUPAHOOK_EVENTS_SECRETS",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ),
    ]);
    let app = TestApp::spawn_with(options).await;
    let signup = app
        .deliver(
            "/hooks/before-user-created",
            &fixture("before-user-created.json"),
        )
        .await;
    signup.assert_status_is_ok();

    // The endpoints' gauges are set once the event worker has read their state.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let text = loop {
        let metrics = app.client.get("/metrics").send().await;
        metrics.assert_status_is_ok();
        let text = metrics.0.into_body().into_string().await.unwrap();
        if text.contains("supahook_events_oldest_undelivered_age_seconds")
            || std::time::Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let exported = exported(&text);
    let last = text
        .lines()
        .find(|l| {
            l.starts_with(
                "supahook_last_delivery_timestamp_seconds{source=\"before-user-created\"}",
            )
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no last delivery of before-user-created in:\n{text}"));
    let age = support::now() as f64 - last;
    assert!(
        (-2.0..60.0).contains(&age),
        "the last delivery was {age} s ago"
    );

    let rules: serde_yaml::Value = serde_yaml::from_str(RULES).unwrap();
    let named: BTreeSet<String> = rule_exprs(&rules["groups"])
        .iter()
        .chain(&dashboard_exprs())
        .flat_map(|expr| metric_names(expr).collect::<Vec<_>>())
        .collect();
    assert!(named.contains("supahook_last_delivery_timestamp_seconds"));
    let missing: Vec<_> = named.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "not exported: {missing:?}\nexported: {exported:?}"
    );
    drop(app);
    let _ = std::fs::remove_dir_all(&data_dir);
}
