//! Which `iss` an access token must carry.
//!
//! Supabase Auth names itself in every token it signs: `iss` is the Auth API's external
//! URL, `https://<ref>.supabase.co/auth/v1` on the hosted platform and
//! `http://127.0.0.1:54321/auth/v1` for the local stack, the same origin and prefix its
//! key set is published under (`/auth/v1/.well-known/jwks.json`). So a key set URL of
//! that form tells the issuer, and checking it keeps tokens of another project or
//! another service signed with the same keys out. `SUPAHOOK_JWT_ISSUER` wins over it.

/// The path under which Supabase Auth publishes its key set.
const SUPABASE_JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";

/// The issuer tokens must name: `configured` (`SUPAHOOK_JWT_ISSUER`) when set, else the
/// one the key set URL tells, else none (`iss` is not checked).
pub(super) fn required(configured: Option<&str>, jwks_url: Option<&str>) -> Option<String> {
    match configured {
        Some(issuer) => Some(issuer.to_owned()),
        None => jwks_url.and_then(derived),
    }
}

/// The issuer of the tokens whose keys are published at `jwks_url`: its origin and
/// `/auth/v1`, when the URL is Supabase's own key set path.
pub(super) fn derived(jwks_url: &str) -> Option<String> {
    let url = reqwest::Url::parse(jwks_url).ok()?;
    if url.path() != SUPABASE_JWKS_PATH || url.query().is_some() {
        return None;
    }
    let origin = url.origin();
    origin
        .is_tuple()
        .then(|| format!("{}/auth/v1", origin.ascii_serialization()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosted_and_the_local_key_sets_tell_their_issuer() {
        assert_eq!(
            derived("https://abcd.supabase.co/auth/v1/.well-known/jwks.json").as_deref(),
            Some("https://abcd.supabase.co/auth/v1")
        );
        assert_eq!(
            derived("http://127.0.0.1:54321/auth/v1/.well-known/jwks.json").as_deref(),
            Some("http://127.0.0.1:54321/auth/v1")
        );
    }

    #[test]
    fn a_default_port_is_not_written_out() {
        assert_eq!(
            derived("https://auth.example.com:443/auth/v1/.well-known/jwks.json").as_deref(),
            Some("https://auth.example.com/auth/v1")
        );
    }

    #[test]
    fn another_path_tells_nothing() {
        for url in [
            "https://auth.example.com/.well-known/jwks.json",
            "https://keys.example.com/jwks.json",
            "https://abcd.supabase.co/auth/v1/.well-known/jwks.json?v=2",
            "not a url",
        ] {
            assert_eq!(derived(url), None, "{url}");
        }
    }

    #[test]
    fn the_configured_issuer_wins() {
        let url = "https://abcd.supabase.co/auth/v1/.well-known/jwks.json";

        assert_eq!(
            required(Some("https://auth.example.com"), Some(url)).as_deref(),
            Some("https://auth.example.com")
        );
        assert_eq!(
            required(None, Some(url)).as_deref(),
            Some("https://abcd.supabase.co/auth/v1")
        );
        assert_eq!(required(None, None), None);
    }
}
