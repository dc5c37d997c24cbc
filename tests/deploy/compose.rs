//! deploy/compose.yaml and deploy/Dockerfile: the order of start, the hardening of
//! every service, and the image's health check and command.

use crate::{assert_runs_a_subcommand, compose, deploy, env_value, port_of, read, strings, text};

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
    let compose = compose();
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
}

#[test]
fn every_compose_service_is_read_only_without_capabilities_or_new_privileges() {
    let compose = compose();
    let services = compose["services"].as_mapping().unwrap();
    assert!(services.len() >= 5);
    for (name, service) in services {
        let name = text(name);
        assert_eq!(service["read_only"], true, "{name}: read_only");
        assert!(service["cap_drop"].is_sequence(), "{name}: no cap_drop");
        assert_eq!(strings(&service["cap_drop"]), ["ALL"], "{name}: cap_drop");
        assert!(
            service["security_opt"].is_sequence(),
            "{name}: no security_opt"
        );
        assert!(
            strings(&service["security_opt"]).contains(&"no-new-privileges:true".to_owned()),
            "{name}: no-new-privileges"
        );
        if !service["cap_add"].is_null() {
            assert_eq!(
                strings(&service["cap_add"]),
                ["NET_BIND_SERVICE"],
                "{name}: cap_add"
            );
        }
    }
}

#[test]
fn the_replicas_keep_their_data_on_a_volume_and_publish_no_port() {
    let compose = compose();
    let supahook = &compose["services"]["supahook"];
    let env = &supahook["environment"];
    let data_dir = env_value(env, "SUPAHOOK_DATA_DIR").expect("SUPAHOOK_DATA_DIR is set");
    let volumes = strings(&supahook["volumes"]);
    assert!(
        volumes.iter().any(|v| {
            let target = v.split(':').nth(usize::from(v.contains(':'))).unwrap();
            data_dir.starts_with(&format!("{target}/"))
        }),
        "the data directory {data_dir} is on none of the volumes {volumes:?}"
    );
    assert!(
        supahook["ports"].is_null(),
        "only the proxy publishes ports"
    );
    let exposed = strings(&supahook["expose"]);
    for setting in ["SUPAHOOK_LISTEN_ADDR", "SUPAHOOK_ADMIN_LISTEN_ADDR"] {
        let port = port_of(env_value(env, setting).unwrap()).to_string();
        assert!(exposed.contains(&port), "{setting}: {port} is not exposed");
    }
    let admin = port_of(env_value(env, "SUPAHOOK_ADMIN_LISTEN_ADDR").unwrap());
    assert!(
        strings(&compose["services"]["caddy"]["ports"])
            .iter()
            .all(|p| !p.ends_with(&format!(":{admin}"))),
        "the admin port is published"
    );
}
