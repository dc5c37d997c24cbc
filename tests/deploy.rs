//! The deployment files under deploy/ are checked against the app itself: every
//! manifest is valid YAML of a known kind, probes hit real routes, containers run
//! as the image's non-root user, every command they run parses as a real
//! subcommand, names that refer to each other match, and every setting they
//! set is documented.

use clap::Parser;
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
    assert!(files.len() >= 8, "deploy/k8s has too few files: {files:?}");
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

use serde::Deserialize;

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

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
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

/// Parses `supahook ARGS` as the binary would, so a typo or a removed option fails here.
fn assert_runs_a_subcommand(args: &[String], context: &str) {
    let argv = std::iter::once("supahook".to_owned()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{context}: {args:?}: {e}"));
    assert!(
        cli.command.is_some(),
        "{context}: no subcommand in {args:?}"
    );
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("not a list: {value:?}"))
        .iter()
        .map(|v| text(v).to_owned())
        .collect()
}

/// The containers of a Deployment, Job or CronJob, with its pod spec.
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

#[test]
fn every_manifest_is_valid_yaml_of_a_known_kind_with_a_name() {
    let known = [
        "Kustomization",
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
        "CronJob",
        "Ingress",
    ];
    let docs = manifests();
    for (file, doc) in &docs {
        let kind = doc["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: no kind"));
        assert!(known.contains(&kind), "{file}: unexpected kind {kind}");
        assert!(doc["apiVersion"].is_string(), "{file}: no apiVersion");
        if kind != "Kustomization" {
            assert!(
                doc["metadata"]["name"].is_string(),
                "{file}: no metadata.name"
            );
        }
    }
    for wanted in &known {
        assert!(!kind(&docs, wanted).is_empty(), "no {wanted} in deploy/k8s");
    }
    let listed = strings(&one(&docs, "Kustomization")["resources"]);
    for (file, _) in docs.iter().filter(|(f, _)| f != "kustomization.yaml") {
        assert!(
            listed.contains(file),
            "kustomization.yaml leaves out {file}"
        );
    }
}

#[test]
fn probes_point_at_routes_the_app_serves() {
    let docs = manifests();
    let routes = routes();
    let deployment = one(&docs, "Deployment");
    let container = &pod_spec(deployment)["containers"][0];
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let path = text(&container[probe]["httpGet"]["path"]);
        assert!(
            routes.iter().any(|r| r == path),
            "{probe} probes {path}, not a route: {routes:?}"
        );
    }
    assert_eq!(
        text(&container["readinessProbe"]["httpGet"]["path"]),
        "/health/ready"
    );
    for rule in one(&docs, "Ingress")["spec"]["rules"]
        .as_sequence()
        .unwrap()
    {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            let prefix = text(&path["path"]);
            assert!(
                routes.iter().any(|r| r.starts_with(prefix)),
                "the Ingress routes {prefix}, which matches no route"
            );
        }
    }
}

#[test]
fn the_deployment_is_replicated_bounded_and_drains_gracefully() {
    let docs = manifests();
    let deployment = one(&docs, "Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = pod_spec(deployment);
    let container = &pod["containers"][0];
    for resource in ["cpu", "memory"] {
        assert!(container["resources"]["requests"][resource].is_string());
    }
    assert!(container["resources"]["limits"]["memory"].is_string());
    let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .expect("a preStop pause");
    let env = &container["env"];
    let shutdown: u64 = env
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "SUPAHOOK_SHUTDOWN_TIMEOUT")
        .map(|e| text(&e["value"]).parse().unwrap())
        .expect("SUPAHOOK_SHUTDOWN_TIMEOUT is set");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        pause + shutdown < grace,
        "preStop {pause} s + shutdown {shutdown} s must fit in {grace} s"
    );

    let hpa = one(&docs, "HorizontalPodAutoscaler");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        deployment["metadata"]["name"]
    );
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        &one(&docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        labels
    );
    let service = one(&docs, "Service");
    assert_eq!(&service["spec"]["selector"], labels);
    let port_name = &service["spec"]["ports"][0]["name"];
    for rule in one(&docs, "Ingress")["spec"]["rules"]
        .as_sequence()
        .unwrap()
    {
        for path in rule["http"]["paths"].as_sequence().unwrap() {
            assert_eq!(
                path["backend"]["service"]["name"],
                service["metadata"]["name"]
            );
            assert_eq!(&path["backend"]["service"]["port"]["name"], port_name);
        }
    }
    assert!(one(&docs, "Ingress")["spec"]["tls"][0]["secretName"].is_string());
}

#[test]
fn workloads_run_real_subcommands_as_the_images_non_root_user_with_secrets_that_exist() {
    let docs = manifests();
    let user = image_user();
    assert_ne!(user, 0, "the image runs as root");
    let secret = one(&docs, "Secret");
    let secret_keys: Vec<&str> = secret["stringData"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(text)
        .collect();
    let mut seen = Vec::new();
    for wanted in ["Deployment", "Job", "CronJob"] {
        let workload = one(&docs, wanted);
        let pod = pod_spec(workload);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{wanted}");
        assert_eq!(
            pod["securityContext"]["runAsUser"].as_u64(),
            Some(u64::from(user)),
            "{wanted}"
        );
        for container in pod["containers"].as_sequence().unwrap() {
            let args = strings(&container["args"]);
            assert_runs_a_subcommand(&args, wanted);
            seen.push(args[0].clone());
            for var in container["env"].as_sequence().unwrap() {
                if let Some(key) = var["valueFrom"]["secretKeyRef"]["key"].as_str() {
                    assert_eq!(
                        var["valueFrom"]["secretKeyRef"]["name"],
                        secret["metadata"]["name"]
                    );
                    assert!(
                        secret_keys.contains(&key),
                        "{wanted} reads {key}, which the Secret lacks"
                    );
                }
            }
        }
    }
    assert_eq!(seen, ["serve", "migrate", "reconcile"]);
}

#[test]
fn the_dockerfile_checks_health_with_the_binary_and_runs_serve() {
    let dockerfile = read(&deploy("Dockerfile"));
    let instruction = |name: &str| -> Vec<String> {
        let line = dockerfile
            .replace("\\\n", " ")
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {name} in the Dockerfile"));
        let json = &line[line.find('[').unwrap()..];
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{name} {json}: {e}"))
    };
    let health = instruction("HEALTHCHECK");
    assert_eq!(health[0], "supahook");
    assert_runs_a_subcommand(&health[1..], "HEALTHCHECK");
    assert_eq!(health[1], "healthcheck");
    assert_eq!(instruction("ENTRYPOINT"), ["supahook"]);
    assert_runs_a_subcommand(&instruction("CMD"), "CMD");
    assert!(!dockerfile.contains("curl"), "the image needs no curl");
}

#[test]
fn compose_migrates_once_then_runs_two_replicas_behind_a_tls_proxy() {
    let compose: Value = serde_yaml::from_str(&read(&deploy("compose.yaml"))).unwrap();
    let services = &compose["services"];
    for name in ["postgres", "migrate", "supahook", "caddy", "reconcile"] {
        assert!(
            services[name].is_mapping(),
            "compose.yaml has no {name} service"
        );
    }
    for name in ["migrate", "supahook", "reconcile"] {
        assert_runs_a_subcommand(&strings(&services[name]["command"]), name);
    }
    assert!(services["supahook"]["deploy"]["replicas"].as_u64().unwrap() >= 2);
    assert_eq!(
        services["supahook"]["depends_on"]["migrate"]["condition"],
        "service_completed_successfully"
    );
    assert!(
        strings(&services["caddy"]["ports"])
            .iter()
            .any(|p| p.ends_with(":443"))
    );
    let caddyfile = read(&deploy("Caddyfile"));
    assert!(
        caddyfile.contains("health_uri /health/ready")
            && routes().iter().any(|r| r == "/health/ready")
    );
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
            Some("Deployment" | "Job" | "CronJob") => pod_spec(&doc).clone(),
            _ => continue,
        };
        for container in spec["containers"].as_sequence().unwrap() {
            for var in container["env"].as_sequence().unwrap() {
                names.push(text(&var["name"]).to_owned());
            }
        }
    }
    let compose: Value = serde_yaml::from_str(&read(&deploy("compose.yaml"))).unwrap();
    names.extend(
        compose["x-supahook"]["environment"]
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
