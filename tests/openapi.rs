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
        ("/v1/users", "get"),
        ("/v1/users/{id}/profile", "patch"),
        ("/v1/events", "get"),
        ("/api/auth/users/sync", "post"),
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
        "UserPage",
        "ProfileEdit",
        "SyncUserAnswer",
        "DeliveryPage",
        "ErrorBody",
    ] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "{schema} is missing"
        );
    }
}

#[test]
fn every_path_parameter_is_the_user_id() {
    // The error for an invalid path parameter names it `id` (see `http::error`).
    let spec: serde_json::Value =
        serde_json::from_str(&supahook::http::api_service().spec()).unwrap();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    assert_eq!(parameter["name"], "id", "{method} {path}");
                }
            }
        }
    }
}

#[test]
fn the_frontend_and_admin_endpoints_declare_their_bearer_schemes() {
    let spec: serde_json::Value =
        serde_json::from_str(&supahook::http::api_service().spec()).unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["SupabaseSession"]["scheme"], "bearer");
    assert_eq!(schemes["SupabaseSession"]["bearerFormat"], "JWT");
    assert_eq!(schemes["AdminToken"]["scheme"], "bearer");
    let sync = &spec["paths"]["/api/auth/users/sync"]["post"];
    assert!(sync["security"][0]["SupabaseSession"].is_array());
    assert!(sync["requestBody"]["content"]["application/json"]["schema"]["$ref"].is_string());
    for (path, method) in [
        ("/v1/users", "get"),
        ("/v1/users/{id}/profile", "patch"),
        ("/v1/events", "get"),
    ] {
        assert!(
            spec["paths"][path][method]["security"][0]["AdminToken"].is_array(),
            "{method} {path}"
        );
    }
}

#[test]
fn emails_and_phones_are_documented_as_at_most_255_characters() {
    // Supabase's own auth.users columns are varchar(255); longer ones are refused.
    let spec: serde_json::Value =
        serde_json::from_str(&supahook::http::api_service().spec()).unwrap();
    let schemas = &spec["components"]["schemas"];
    for schema in ["AccessTokenClaims", "AuthUser", "AuthUserRow"] {
        for field in ["email", "phone"] {
            assert_eq!(
                schemas[schema]["properties"][field]["maxLength"], 255,
                "{schema}.{field}"
            );
        }
    }
}
