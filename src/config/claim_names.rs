//! Names of the claims supahook adds to access tokens (`SUPAHOOK_TOKEN_PROFILE_CLAIM`,
//! `SUPAHOOK_TOKEN_CLAIMS_NAME`): never one Supabase Auth sets or requires.

/// Claims Supabase Auth sets or requires; supahook's own claims may not take their names.
pub const SUPABASE_CLAIMS: [&str; 18] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "email",
    "phone",
    "app_metadata",
    "user_metadata",
    "role",
    "aal",
    "amr",
    "session_id",
    "is_anonymous",
    "client_id",
    "scope",
];

/// A claim name of letters, digits and `_` that Supabase does not use.
pub(super) fn check(name: &str) -> Result<String, String> {
    let valid = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid {
        return Err("must be letters, digits and _ (for example app_profile)".to_owned());
    }
    if SUPABASE_CLAIMS.contains(&name) {
        return Err(format!(
            "`{name}` is a claim Supabase Auth sets; choose another name, such as app_profile"
        ));
    }
    Ok(name.to_owned())
}
