//! The committed spec stays equal to the generated one, and documents every endpoint.

#[test]
fn the_committed_spec_matches_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml");
    let committed = std::fs::read_to_string(path).expect("openapi/openapi.yaml exists");
    assert!(
        committed == supahook::http::spec_yaml(),
        "openapi/openapi.yaml is out of date: run `cargo run -- openapi > openapi/openapi.yaml`"
    );
}

#[test]
fn every_endpoint_is_documented_with_its_schemas() {
    let spec: serde_json::Value =
        serde_json::from_str(&supahook::http::api_service().spec()).unwrap();
    for (path, method) in [
        ("/hooks/custom-access-token", "post"),
        ("/hooks/before-user-created", "post"),
        ("/hooks/after-user-created", "post"),
        ("/hooks/auth-users", "post"),
        ("/v1/users/{id}", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
    ] {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is missing");
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        assert!(
            operation["responses"]["200"]["content"]["application/json; charset=utf-8"]["schema"]
                .is_object(),
            "{method} {path} has no 200 schema"
        );
        if method == "post" {
            assert!(
                operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                    .is_string(),
                "{method} {path} has no request schema"
            );
        }
    }
    for schema in [
        "CustomAccessTokenInput",
        "BeforeUserCreatedInput",
        "AfterUserCreatedInput",
        "AuthUsersChange",
        "UserView",
        "ErrorBody",
    ] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "{schema} is missing"
        );
    }
}
