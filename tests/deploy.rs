//! The deployment files under deploy/ are checked against the app itself: every
//! manifest is valid YAML of a known kind, probes hit real routes, containers run
//! as the image's non-root user, every command they run parses as a real
//! subcommand, names that refer to each other match, every setting they set is
//! documented, and only the public routes are reachable from outside.

mod deploy {
    mod compose;
    mod k8s;
    mod ports;
    mod proxies;
}

use clap::Parser;
use serde::Deserialize;
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use supahook::cli::Cli;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every YAML document in every file of deploy/k8s, with its file name.
fn manifests() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "deploy/k8s has too few files: {files:?}");
    let mut docs = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for doc in serde_yaml::Deserializer::from_str(&read(&file)) {
            let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{name}: {e}"));
            docs.push((name.clone(), value));
        }
    }
    docs
}

/// compose.yaml with its `<<` merge keys applied, as Compose reads it.
fn compose() -> Value {
    let mut compose: Value = serde_yaml::from_str(&read(&deploy("compose.yaml"))).unwrap();
    compose.apply_merge().unwrap();
    compose
}

fn kind<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|(_, d)| d["kind"] == kind)
        .map(|(_, d)| d)
        .collect()
}

fn one<'a>(docs: &'a [(String, Value)], wanted: &str) -> &'a Value {
    let found = kind(docs, wanted);
    assert_eq!(found.len(), 1, "expected one {wanted}");
    found[0]
}

/// The document of kind `wanted` whose `metadata.name` is `name`.
fn named<'a>(docs: &'a [(String, Value)], wanted: &str, name: &str) -> &'a Value {
    kind(docs, wanted)
        .into_iter()
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {wanted} named {name}"))
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|v| text(v).to_owned())
        .collect()
}

/// The paths the app serves, from its own OpenAPI spec.
fn routes() -> Vec<String> {
    let spec: Value = serde_yaml::from_str(&supahook::http::spec_yaml()).unwrap();
    spec["paths"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| text(k).to_owned())
        .collect()
}

/// What the public port serves: the hooks Supabase calls, the sync endpoint a
/// frontend calls, and the probes. Everything else belongs to the admin port.
fn is_public(route: &str) -> bool {
    route.starts_with("/hooks/") || route == "/api/auth/users/sync" || route.starts_with("/health/")
}

/// The public routes of the spec, sorted; several are expected.
fn public_routes() -> Vec<String> {
    let mut public: Vec<String> = routes().into_iter().filter(|r| is_public(r)).collect();
    public.sort();
    assert!(public.len() >= 6, "too few public routes: {public:?}");
    public
}

/// Parses `supahook ARGS` as the binary would, so a typo or a removed option fails here.
fn assert_runs_a_subcommand(args: &[String], context: &str) {
    let argv = std::iter::once("supahook".to_owned()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{context}: {args:?}: {e}"));
    assert!(
        cli.command.is_some(),
        "{context}: no subcommand in {args:?}"
    );
}

/// The pod spec of a StatefulSet, Job or CronJob.
/// The init containers of a pod spec, then its containers.
fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|key| pod[*key].as_sequence())
        .flatten()
        .collect()
}

fn pod_spec(workload: &Value) -> &Value {
    match text(&workload["kind"]) {
        "CronJob" => &workload["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &workload["spec"]["template"]["spec"],
    }
}

/// The image's user from the Dockerfile's USER line.
fn image_user() -> u32 {
    let dockerfile = read(&deploy("Dockerfile"));
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("the Dockerfile sets USER");
    user.split(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect("a numeric USER, so runAsNonRoot can check it")
}

/// The value a container's (or a compose service's) environment gives `name`.
fn env_value<'a>(env: &'a Value, name: &str) -> Option<&'a str> {
    match env {
        Value::Sequence(vars) => vars
            .iter()
            .find(|v| v["name"] == name)
            .map(|v| text(&v["value"])),
        _ => env.get(name).map(text),
    }
}

/// The port of a `host:port` listen address.
fn port_of(addr: &str) -> u64 {
    addr.rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("{addr} is not host:port"))
}

#[test]
fn every_setting_the_deploy_files_set_is_documented() {
    let docs = format!(
        "{}{}",
        read(&deploy("../README.md")),
        read(&deploy("README.md"))
    );
    let mut names = Vec::new();
    for (_, doc) in manifests() {
        if let Some(data) = doc["stringData"].as_mapping() {
            names.extend(data.keys().map(|k| text(k).to_owned()));
        }
        let spec = match doc["kind"].as_str() {
            Some("StatefulSet" | "CronJob") => pod_spec(&doc).clone(),
            _ => continue,
        };
        for container in containers(&spec) {
            for var in container["env"].as_sequence().unwrap() {
                names.push(text(&var["name"]).to_owned());
            }
        }
    }
    names.extend(
        compose()["x-supahook"]["environment"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| text(k).to_owned()),
    );
    for name in names {
        assert!(
            docs.contains(&format!("`{name}`")),
            "{name} is set in deploy/ but not documented"
        );
    }
}
