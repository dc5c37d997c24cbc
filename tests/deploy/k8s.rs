//! deploy/k8s: the kinds, what kustomization.yaml applies, the StatefulSet and what
//! refers to it, and how every workload runs.

use crate::{
    assert_runs_a_subcommand, containers, env_value, image_user, kind, manifests, named, one,
    pod_spec, strings, text,
};

/// A Kubernetes quantity in bytes (`512Mi`, `2Gi`).
fn bytes(quantity: &str) -> u64 {
    let (number, unit) = quantity.split_at(
        quantity
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(quantity.len()),
    );
    let scale = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        other => panic!("unit {other} in {quantity}"),
    };
    number.parse::<u64>().unwrap() * scale
}

#[test]
fn every_manifest_is_valid_yaml_of_a_known_kind_with_a_name() {
    let known = [
        "Kustomization",
        "Secret",
        "StatefulSet",
        "Service",
        "NetworkPolicy",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
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
}

#[test]
fn kustomize_applies_every_manifest_but_the_example_secret() {
    let docs = manifests();
    let listed = strings(&one(&docs, "Kustomization")["resources"]);
    for (file, doc) in docs.iter().filter(|(f, _)| f != "kustomization.yaml") {
        let example = file.ends_with(".example.yaml");
        assert_eq!(
            listed.contains(file),
            !example,
            "kustomization.yaml must list {file} exactly when it is not an example"
        );
        assert!(
            example || doc["kind"] != "Secret",
            "{file}: a Secret would be applied with its placeholder values"
        );
    }
    assert!(
        docs.iter()
            .any(|(f, d)| f == "secret.example.yaml" && d["kind"] == "Secret")
    );
}

#[test]
fn the_statefulset_is_replicated_bounded_drains_gracefully_and_keeps_its_spool() {
    let docs = manifests();
    let set = one(&docs, "StatefulSet");
    assert!(set["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = pod_spec(set);
    let container = &pod["containers"][0];
    for resource in ["cpu", "memory"] {
        assert!(container["resources"]["requests"][resource].is_string());
    }
    assert!(container["resources"]["limits"]["memory"].is_string());
    let pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .expect("a preStop pause");
    let env = &container["env"];
    let shutdown: u64 = env_value(env, "SUPAHOOK_SHUTDOWN_TIMEOUT")
        .expect("SUPAHOOK_SHUTDOWN_TIMEOUT is set")
        .parse()
        .unwrap();
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        pause + shutdown < grace,
        "preStop {pause} s + shutdown {shutdown} s must fit in {grace} s"
    );

    // The spool lives on the pod's own claim, not on a volume that dies with the pod.
    assert!(pod["volumes"].is_null(), "the pod has volumes of its own");
    let claim = &set["spec"]["volumeClaimTemplates"][0];
    let mount = container["volumeMounts"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| m["name"] == claim["metadata"]["name"])
        .expect("the container mounts the claim");
    let data_dir = env_value(env, "SUPAHOOK_DATA_DIR").expect("SUPAHOOK_DATA_DIR is set");
    assert!(
        data_dir.starts_with(&format!("{}/", text(&mount["mountPath"]))),
        "the data directory {data_dir} is not inside the claim"
    );
    assert_eq!(strings(&claim["spec"]["accessModes"]), ["ReadWriteOnce"]);
    let claimed = bytes(text(&claim["spec"]["resources"]["requests"]["storage"]));
    let bound: u64 = env_value(env, "SUPAHOOK_SPOOL_MAX_BYTES")
        .expect("SUPAHOOK_SPOOL_MAX_BYTES is set")
        .parse()
        .unwrap();
    assert!(
        bound < claimed,
        "the spool's bound ({bound} bytes) must leave room in its claim ({claimed} bytes)"
    );
    assert_eq!(
        set["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"],
        "Retain"
    );
    assert_eq!(
        pod["securityContext"]["fsGroup"],
        pod["securityContext"]["runAsGroup"]
    );
    let governing = named(&docs, "Service", text(&set["spec"]["serviceName"]));
    assert_eq!(governing["spec"]["clusterIP"], "None");

    let hpa = one(&docs, "HorizontalPodAutoscaler");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "StatefulSet");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        set["metadata"]["name"]
    );
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 2);
    let labels = &set["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&set["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(
        &one(&docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        labels
    );
    for service in kind(&docs, "Service") {
        assert_eq!(&service["spec"]["selector"], labels);
    }
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
    for wanted in ["StatefulSet", "CronJob"] {
        let workload = one(&docs, wanted);
        let pod = pod_spec(workload);
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{wanted}");
        assert_eq!(
            pod["securityContext"]["runAsUser"].as_u64(),
            Some(u64::from(user)),
            "{wanted}"
        );
        for container in containers(pod) {
            let hardening = &container["securityContext"];
            assert_eq!(hardening["readOnlyRootFilesystem"], true, "{wanted}");
            assert_eq!(hardening["allowPrivilegeEscalation"], false, "{wanted}");
            assert_eq!(
                strings(&hardening["capabilities"]["drop"]),
                ["ALL"],
                "{wanted}"
            );
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
    assert_eq!(seen, ["migrate", "serve", "reconcile"]);
}

#[test]
fn every_pod_of_the_statefulset_migrates_before_it_serves_with_the_same_image() {
    let docs = manifests();
    let pod = pod_spec(one(&docs, "StatefulSet"));
    let init = &pod["initContainers"][0];
    let server = &pod["containers"][0];

    assert_eq!(strings(&init["args"]), ["migrate"]);
    assert_eq!(init["image"], server["image"]);
    assert_eq!(
        init["env"][0], server["env"][0],
        "the init container migrates the database the server uses"
    );
    assert_eq!(text(&init["env"][0]["name"]), "DATABASE_URL");
    assert!(
        kind(&docs, "Job").is_empty(),
        "a separate migration Job could run after the new pods"
    );
}

#[test]
fn every_workload_reads_the_settings_they_must_agree_on_from_one_config_map() {
    let docs = manifests();
    let kustomization = one(&docs, "Kustomization");
    let generated = &kustomization["configMapGenerator"][0];
    assert!(
        strings(&generated["literals"]).contains(&"SUPAHOOK_DB_SCHEMA=public".to_owned()),
        "SUPAHOOK_DB_SCHEMA is set in one place"
    );
    for wanted in ["StatefulSet", "CronJob"] {
        for container in containers(pod_spec(one(&docs, wanted))) {
            assert_eq!(
                container["envFrom"][0]["configMapRef"]["name"],
                generated["name"],
                "{wanted}: {}",
                text(&container["name"])
            );
        }
    }
}
