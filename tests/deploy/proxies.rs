//! What the Ingress and Caddy let through from outside: exactly the public routes
//! of the app's spec, never the admin API, /metrics or /docs.

use crate::{deploy, is_public, manifests, one, public_routes, read, routes, text};
use std::collections::BTreeMap;

/// The spec's routes a proxy path reaches: a prefix when it ends with `/` or `*`
/// (an Ingress `Prefix`, a Caddy `/x/*`), the route itself otherwise.
fn reached(pattern: &str, prefix: bool) -> Vec<String> {
    let pattern = pattern.trim_end_matches('*');
    let reached: Vec<String> = routes()
        .into_iter()
        .filter(|r| r == pattern || (prefix && r.starts_with(pattern)))
        .collect();
    assert!(!reached.is_empty(), "{pattern} matches no route");
    reached
}

fn sorted(mut routes: Vec<String>) -> Vec<String> {
    routes.sort();
    routes.dedup();
    routes
}

#[test]
fn the_ingress_routes_exactly_the_public_paths_to_the_public_service() {
    let docs = manifests();
    let ingress = one(&docs, "Ingress");
    let public_service = crate::named(&docs, "Service", "supahook");
    let port_name = &public_service["spec"]["ports"][0]["name"];
    assert_eq!(public_service["spec"]["ports"][0]["targetPort"], "http");
    let mut through = Vec::new();
    for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            let prefix = match text(&path["pathType"]) {
                "Prefix" => true,
                "Exact" => false,
                other => panic!("pathType {other}: its matching is up to the controller"),
            };
            through.extend(reached(text(&path["path"]), prefix));
            let backend = &path["backend"]["service"];
            assert_eq!(backend["name"], public_service["metadata"]["name"]);
            assert_eq!(&backend["port"]["name"], port_name);
        }
    }
    assert_eq!(sorted(through), public_routes());
    assert!(ingress["spec"]["defaultBackend"].is_null());
    assert!(ingress["spec"]["tls"][0]["secretName"].is_string());
}

/// One line of a Caddyfile with the headers of the blocks around it, outermost first.
struct Line {
    blocks: Vec<String>,
    text: String,
}

/// The Caddyfile's lines, comments left out, each with its enclosing blocks.
fn caddyfile() -> Vec<Line> {
    let mut blocks: Vec<String> = Vec::new();
    let mut lines = Vec::new();
    for raw in read(&deploy("Caddyfile")).lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "}" {
            blocks.pop().expect("a `}` closes no block");
            continue;
        }
        let text = line.trim_end_matches('{').trim().to_owned();
        lines.push(Line {
            blocks: blocks.clone(),
            text: text.clone(),
        });
        if line.ends_with('{') {
            blocks.push(text);
        }
    }
    assert!(blocks.is_empty(), "the Caddyfile leaves a block open");
    lines
}

#[test]
fn caddy_forwards_only_public_paths_and_plain_http_carries_no_catch_all() {
    let lines = caddyfile();
    let mut matchers: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in &lines {
        if let Some(named) = line.text.strip_prefix('@') {
            let mut words = named.split_whitespace();
            let name = words.next().unwrap().to_owned();
            assert_eq!(words.next(), Some("path"), "@{name}: only path matchers");
            matchers.insert(
                (line.blocks[0].clone(), name),
                words.map(str::to_owned).collect(),
            );
        }
    }
    let mut per_site: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines.iter().filter(|l| l.text.starts_with("reverse_proxy")) {
        let site = line.blocks[0].clone();
        let handle = line.blocks.last().unwrap();
        let matcher = handle
            .strip_prefix("handle @")
            .unwrap_or_else(|| panic!("{site}: reverse_proxy outside a `handle @paths` block"));
        let patterns = &matchers[&(site.clone(), matcher.to_owned())];
        for pattern in patterns {
            let through = reached(pattern, pattern.ends_with('*'));
            assert!(
                through.iter().all(|r| is_public(r)),
                "{site}: {pattern} forwards {through:?}"
            );
            per_site.entry(site.clone()).or_default().extend(through);
        }
    }
    let tls_site = "{$SUPAHOOK_DOMAIN:localhost}";
    assert_eq!(
        sorted(per_site.remove(tls_site).expect("the TLS site forwards")),
        public_routes()
    );
    for (site, through) in per_site {
        assert!(
            through.iter().all(|r| r.starts_with("/hooks/")),
            "the plain-http site {site} forwards more than the hooks: {through:?}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.text == "health_uri /health/ready" && l.blocks[0] == tls_site),
        "Caddy checks the replicas' readiness"
    );
}
