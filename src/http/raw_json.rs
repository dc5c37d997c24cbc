//! A JSON request body kept as raw bytes, so the signature can be checked over
//! exactly what was sent, while the spec still documents the JSON schema of `T`.

use poem::{Request, RequestBody};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use std::marker::PhantomData;

/// The largest body accepted; larger ones get 413 without being read further.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The unparsed bytes of a JSON body whose schema is `T`.
pub struct RawJson<T> {
    /// The body exactly as received.
    pub bytes: Vec<u8>,
    _schema: PhantomData<fn() -> T>,
}

impl<T: Type> Payload for RawJson<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for RawJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        // Reads at most MAX_BODY_BYTES whatever Content-Length says, chunked bodies too.
        let bytes = body.take()?.into_bytes_limit(MAX_BODY_BYTES).await?;
        Ok(Self {
            bytes: bytes.to_vec(),
            _schema: PhantomData,
        })
    }
}

impl_apirequest_for_payload!(RawJson<T>, T: ParseFromJSON);
