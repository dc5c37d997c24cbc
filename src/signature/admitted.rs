//! A delivery admitted on its headers, and the check of its body: one HMAC per
//! configured secret, compared in constant time with every signature sent.

use super::{SignatureError, SigningKey, VerifiedBody, same_secret};
use hmac::Mac;
use sha2::Sha256;
use std::borrow::Cow;
use std::fmt;
use subtle::{Choice, ConstantTimeEq};

/// A delivery whose headers passed every check that needs no body; `'k` is the
/// verifier's lifetime, `'a` the headers'.
pub struct Admitted<'k, 'a>(Credential<'k, 'a>);

enum Credential<'k, 'a> {
    /// Standard Webhooks headers, with the decoded `v1` signatures.
    Signed {
        keys: &'k [SigningKey],
        id: &'a str,
        timestamp: &'a str,
        tags: Vec<Vec<u8>>,
    },
    /// A valid bearer token, and the `webhook-id` if one was sent.
    Bearer { id: Option<&'a str> },
}

impl fmt::Debug for Admitted<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Admitted(<redacted>)")
    }
}

impl<'k, 'a> Admitted<'k, 'a> {
    /// Standard Webhooks headers that passed their checks, with the decoded `v1` tags.
    pub(super) fn signed(
        keys: &'k [SigningKey],
        id: &'a str,
        timestamp: &'a str,
        tags: Vec<Vec<u8>>,
    ) -> Self {
        Self(Credential::Signed {
            keys,
            id,
            timestamp,
            tags,
        })
    }

    /// Checks `body` against the admitted headers: one HMAC per configured secret,
    /// each compared in constant time with every signature sent.
    pub fn verify<'b>(self, body: &'b [u8]) -> Result<VerifiedBody<'b>, SignatureError>
    where
        'a: 'b,
    {
        match self.0 {
            Credential::Signed {
                keys,
                id,
                timestamp,
                tags,
            } => {
                let mut matched = Choice::from(0);
                for key in keys {
                    let expected = key.mac(id, timestamp, body).finalize().into_bytes();
                    for tag in &tags {
                        matched |= tag.as_slice().ct_eq(expected.as_slice());
                    }
                }
                if !bool::from(matched) {
                    return Err(SignatureError::NoMatch);
                }
                Ok(VerifiedBody {
                    webhook_id: Cow::Borrowed(id),
                    bytes: body,
                })
            }
            Credential::Bearer { id: Some(id) } => Ok(VerifiedBody {
                webhook_id: Cow::Borrowed(id),
                bytes: body,
            }),
            Credential::Bearer { id: None } => {
                use sha2::Digest;
                let digest = Sha256::digest(body);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                Ok(VerifiedBody {
                    webhook_id: Cow::Owned(format!("sha256:{hex}")),
                    bytes: body,
                })
            }
        }
    }
}

/// Authenticates a delivery by a shared bearer token (`Authorization: Bearer <token>`),
/// for senders that cannot sign, such as webhooks made in the Supabase dashboard.
/// Without a `webhook-id` (or with a blank one) the delivery is known by its body's digest.
pub fn admit_bearer<'a>(
    authorization: &str,
    expected: &str,
    webhook_id: Option<&'a str>,
) -> Result<Admitted<'static, 'a>, SignatureError> {
    let presented = authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .unwrap_or("");
    if !same_secret(presented.trim(), expected) {
        return Err(SignatureError::BadBearer);
    }
    let id = webhook_id.filter(|id| !id.trim().is_empty());
    Ok(Admitted(Credential::Bearer { id }))
}
