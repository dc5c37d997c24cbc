//! JSON kept as text: a request body as raw bytes, so the signature can be checked over
//! exactly what was sent, and an answer written without building a JSON value; the
//! spec still documents the JSON schema of `T` for both.

use bytes::Bytes;
use poem::{IntoResponse, Request, RequestBody, Response};
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
    pub bytes: Bytes,
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
            bytes,
            _schema: PhantomData,
        })
    }
}

impl_apirequest_for_payload!(RawJson<T>, T: ParseFromJSON);

/// The content type of a [`JsonText`] answer, the same as poem-openapi's JSON answers.
const ANSWER_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// A JSON answer already written as text, whose schema is `T`.
pub struct JsonText<T> {
    text: String,
    _schema: PhantomData<fn() -> T>,
}

impl<T> JsonText<T> {
    /// An answer with the body `text`, which must be JSON of the shape `T`.
    pub fn new(text: String) -> Self {
        Self {
            text,
            _schema: PhantomData,
        }
    }
}

impl<T: Type> Payload for JsonText<T> {
    const CONTENT_TYPE: &'static str = ANSWER_CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> IntoResponse for JsonText<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(ANSWER_CONTENT_TYPE)
            .body(self.text)
    }
}
