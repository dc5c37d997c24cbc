//! The `Allow` header of every 405 answer (RFC 9110, section 15.5.6): the methods the
//! path does accept, read from the same operations the spec publishes.
//!
//! poem answers a known path with a method it has no handler for by an error that
//! carries neither the path nor the accepted methods, so the header is added here,
//! to the finished answer, rather than in `error::render`.

use poem::http::{HeaderValue, Method, StatusCode, Uri, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::registry::MetaApi;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Adds `Allow` to 405 answers of the API's paths.
#[derive(Clone)]
pub struct AllowHeader {
    /// Each path template (`/v1/users/{id}`) with its `Allow` value.
    paths: Arc<Vec<(String, HeaderValue)>>,
}

impl AllowHeader {
    /// The accepted methods of every path of `apis`. poem answers `HEAD` wherever there
    /// is a `GET` handler (with the `GET` answer's headers and no body), so `HEAD` is
    /// listed with `GET`.
    pub fn new(apis: Vec<MetaApi>) -> Self {
        let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for path in apis.into_iter().flat_map(|api| api.paths) {
            let accepted = methods.entry(path.path).or_default();
            for operation in path.operations {
                if operation.method == Method::GET {
                    accepted.insert(Method::HEAD.to_string());
                }
                accepted.insert(operation.method.to_string());
            }
        }
        let paths = methods
            .into_iter()
            .map(|(path, accepted)| {
                let list = accepted.into_iter().collect::<Vec<_>>().join(", ");
                let value =
                    HeaderValue::from_str(&list).expect("method names are valid header text");
                (path, value)
            })
            .collect();
        Self {
            paths: Arc::new(paths),
        }
    }

    /// The `Allow` value of the template that `path` matches.
    fn allowed(&self, path: &str) -> Option<&HeaderValue> {
        self.paths
            .iter()
            .find(|(template, _)| matches(template, path))
            .map(|(_, value)| value)
    }
}

/// Whether `path` fits `template`, where a `{name}` segment stands for any one
/// non-empty segment, as poem's `:name` does.
fn matches(template: &str, path: &str) -> bool {
    template.split('/').count() == path.split('/').count()
        && template
            .split('/')
            .zip(path.split('/'))
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}') && !p.is_empty()))
}

impl<E: Endpoint> Middleware<E> for AllowHeader {
    type Output = AllowHeaderEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AllowHeaderEndpoint {
            inner,
            allow: self.clone(),
        }
    }
}

/// An endpoint whose 405 answers carry `Allow`.
pub struct AllowHeaderEndpoint<E> {
    inner: E,
    allow: AllowHeader,
}

impl<E: Endpoint> Endpoint for AllowHeaderEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Response> {
        // A `Uri` clone shares its bytes; the path is needed only after the call.
        let uri: Uri = request.uri().clone();
        let mut response = self.inner.call(request).await?.into_response();
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(allow) = self.allow.allowed(uri.path())
        {
            response.headers_mut().insert(header::ALLOW, allow.clone());
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_template_segment_stands_for_one_non_empty_segment() {
        assert!(matches("/v1/users/{id}", "/v1/users/abc"));
        assert!(matches("/v1/users/{id}/profile", "/v1/users/abc/profile"));
        assert!(!matches("/v1/users/{id}", "/v1/users/"));
        assert!(!matches("/v1/users/{id}", "/v1/users/abc/profile"));
        assert!(!matches("/v1/users", "/v1/users/abc"));
        assert!(matches("/v1/users", "/v1/users"));
    }
}
