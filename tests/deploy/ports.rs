//! The two ports of the StatefulSet's container: probes and the Services use the
//! public one; the admin one is a ClusterIP Service guarded by a NetworkPolicy, and
//! the port Prometheus scrapes.

use crate::{env_value, kind, manifests, one, pod_spec, port_of, routes, strings, text};
use serde_yaml::Value;

/// The one container of the StatefulSet.
fn server(docs: &[(String, Value)]) -> &Value {
    &pod_spec(one(docs, "StatefulSet"))["containers"][0]
}

/// The container port named `name`.
fn container_port(container: &Value, name: &str) -> u64 {
    container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port named {name}"))
}

/// The Service whose only port targets the container port `target`.
fn service_for<'a>(docs: &'a [(String, Value)], target: &str) -> &'a Value {
    let found: Vec<&Value> = kind(docs, "Service")
        .into_iter()
        .filter(|s| s["spec"]["clusterIP"] != "None")
        .filter(|s| s["spec"]["ports"][0]["targetPort"] == target)
        .collect();
    assert_eq!(found.len(), 1, "expected one Service for port {target}");
    assert_eq!(found[0]["spec"]["ports"].as_sequence().unwrap().len(), 1);
    found[0]
}

#[test]
fn probes_point_at_routes_the_app_serves_on_the_public_port() {
    let docs = manifests();
    let routes = routes();
    let container = server(&docs);
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let path = text(&container[probe]["httpGet"]["path"]);
        assert!(
            routes.iter().any(|r| r == path),
            "{probe} probes {path}, not a route: {routes:?}"
        );
        assert_eq!(container[probe]["httpGet"]["port"], "http", "{probe}");
    }
    assert_eq!(
        text(&container["readinessProbe"]["httpGet"]["path"]),
        "/health/ready"
    );
}

#[test]
fn the_public_and_admin_ports_match_the_listen_addresses() {
    let docs = manifests();
    let container = server(&docs);
    for (port, setting) in [
        ("http", "SUPAHOOK_LISTEN_ADDR"),
        ("admin", "SUPAHOOK_ADMIN_LISTEN_ADDR"),
    ] {
        let addr =
            env_value(&container["env"], setting).unwrap_or_else(|| panic!("{setting} is set"));
        assert_eq!(container_port(container, port), port_of(addr), "{setting}");
    }
    let annotations = &one(&docs, "StatefulSet")["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert_eq!(
        text(&annotations["prometheus.io/port"])
            .parse::<u64>()
            .unwrap(),
        container_port(container, "admin"),
        "Prometheus scrapes the admin port"
    );
}

#[test]
fn the_admin_port_is_a_cluster_internal_service_guarded_by_a_network_policy() {
    let docs = manifests();
    let admin = service_for(&docs, "admin");
    assert_eq!(admin["spec"]["type"], "ClusterIP");
    let public = service_for(&docs, "http");
    assert_ne!(admin["metadata"]["name"], public["metadata"]["name"]);

    let policy = one(&docs, "NetworkPolicy");
    assert_eq!(
        &policy["spec"]["podSelector"]["matchLabels"],
        &one(&docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(strings(&policy["spec"]["policyTypes"]), ["Ingress"]);
    let rules = policy["spec"]["ingress"].as_sequence().unwrap();
    let rule_for = |port: &str| {
        rules
            .iter()
            .find(|r| {
                r["ports"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .any(|p| p["port"] == port)
            })
            .unwrap_or_else(|| panic!("the NetworkPolicy has no rule for port {port}"))
    };
    let admitted = rule_for("admin")["from"]
        .as_sequence()
        .expect("the admin rule names its sources");
    assert!(!admitted.is_empty());
    for open in rules.iter().filter(|r| r["from"].is_null()) {
        assert!(
            open["ports"]
                .as_sequence()
                .unwrap()
                .iter()
                .all(|p| p["port"] == "http"),
            "only the public port may be open to every source: {open:?}"
        );
    }
    rule_for("http");
}
