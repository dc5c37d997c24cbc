//! Request bodies left unread until the handler has run every check that needs no body
//! (signature headers, bearer and access tokens), then read with a limit per route.
//!
//! poem-openapi reads a body while it extracts the handler's arguments, before the
//! handler runs; the payload types here only take the body out of the request, so a
//! request refused on its headers costs no body read and no buffer.
//!
//! Passing those checks takes no secret for a hook (its timestamp is public), so the
//! bodies held at once by all connections together are bounded too: each read first
//! reserves its size from one budget, and a request that finds it spent gets 503 with
//! `Retry-After` instead of growing the process.

use super::ErrorResponse;
use crate::events::ParseError;
use bytes::Bytes;
use poem::http::header::CONTENT_LENGTH;
use poem::{Body, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest};
use poem_openapi::types::Type;
use std::ops::Deref;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The largest hook body accepted (Auth Hooks and the Database Webhook).
pub const MAX_HOOK_BODY_BYTES: usize = 1024 * 1024;

/// The largest body of a profile edit or a frontend sync: an edit holds at most
/// 16 KiB of settings and two short texts.
pub const MAX_EDIT_BODY_BYTES: usize = 64 * 1024;

/// The bytes of request bodies all connections may hold at once: 128 hook bodies of
/// the largest size, or tens of thousands of real ones (a sign-up is about 2 KiB).
pub const MAX_BUFFERED_BODY_BYTES: usize = 128 * 1024 * 1024;

/// The budget, in KiB: a reservation is a whole number of permits.
static BUFFERED_KIB: Semaphore = Semaphore::const_new(MAX_BUFFERED_BODY_BYTES >> 10);

/// A body read into memory, holding its share of [`MAX_BUFFERED_BODY_BYTES`] until
/// it is dropped.
pub struct HeldBody {
    bytes: Bytes,
    _reserved: SemaphorePermit<'static>,
}

impl Deref for HeldBody {
    type Target = Bytes;

    fn deref(&self) -> &Bytes {
        &self.bytes
    }
}

/// A request body not read yet.
pub struct UnreadBody {
    body: Body,
    /// What `Content-Length` announced, when it was sent and is a number.
    announced: Option<u64>,
}

impl UnreadBody {
    /// Takes the body out of the request without reading it.
    pub fn take(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let announced = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse().ok());
        Ok(Self {
            body: body.take()?,
            announced,
        })
    }

    /// Reads the body, refusing with 413 as soon as it is known to pass `limit` bytes:
    /// at once when `Content-Length` says so, else after `limit` bytes (chunked bodies).
    /// It reserves what it may hold (`Content-Length`, else `limit`) first, and answers
    /// 503 when the budget of bodies held at once is spent.
    pub async fn read(self, limit: usize) -> Result<HeldBody, ErrorResponse> {
        let too_large = || ErrorResponse::payload_too_large(&size_text(limit));
        if self.announced.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let most = self.announced.map_or(limit, |length| length as usize);
        let kib = u32::try_from(most.div_ceil(1024)).expect("limits are far below 4 TiB");
        let reserved = BUFFERED_KIB
            .try_acquire_many(kib)
            .map_err(|_| ErrorResponse::busy())?;
        let bytes = self
            .body
            .into_bytes_limit(limit)
            .await
            .map_err(|error| match error {
                poem::error::ReadBodyError::PayloadTooLarge => too_large(),
                _ => ErrorResponse::unreadable_body(),
            })?;
        Ok(HeldBody {
            bytes,
            _reserved: reserved,
        })
    }
}

/// `limit` bytes as people write it: `1 MiB`, `64 KiB`.
fn size_text(limit: usize) -> String {
    match limit {
        l if l >= 1 << 20 && l % (1 << 20) == 0 => format!("{} MiB", l >> 20),
        l if l >= 1 << 10 && l % (1 << 10) == 0 => format!("{} KiB", l >> 10),
        l => format!("{l} bytes"),
    }
}

/// The JSON value in `bytes`; bytes that are not JSON get the answer they get on
/// every endpoint: 400 naming the problem.
pub fn json_value(bytes: &[u8]) -> Result<serde_json::Value, ErrorResponse> {
    serde_json::from_slice(bytes).map_err(|e| ParseError::Syntax(e.to_string()).into())
}

/// What the spec says of a JSON body of schema `T` and at most [`MAX_EDIT_BODY_BYTES`].
pub fn edit_body_meta<T: Type>(required: bool) -> Option<MetaRequest> {
    Some(MetaRequest {
        description: Some(
            "At most 64 KiB; a larger body is refused with 413 before it is read further.",
        ),
        content: vec![MetaMediaType {
            content_type: "application/json",
            schema: T::schema_ref(),
        }],
        required,
    })
}
