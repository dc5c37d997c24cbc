//! JSON kept as text: a request body as raw bytes, so the signature can be checked over
//! exactly what was sent, and an answer written without building a JSON value; the
//! spec still documents the JSON schema of `T` for both.

use super::ErrorResponse;
use super::body::{HeldBody, MAX_HOOK_BODY_BYTES, UnreadBody};
use crate::signature::Admitted;
use poem::{IntoResponse, Request, RequestBody, Response};
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use std::marker::PhantomData;

/// The signed JSON body of a hook, whose schema is `T`, not read until its headers
/// are admitted.
pub struct RawJson<T> {
    body: UnreadBody,
    _schema: PhantomData<fn() -> T>,
}

impl<T> RawJson<T> {
    /// The body exactly as received, at most [`MAX_HOOK_BODY_BYTES`]; read only once
    /// the headers passed every check that needs no body.
    pub async fn read(self, _admitted: &Admitted<'_, '_>) -> Result<HeldBody, ErrorResponse> {
        self.body.read(MAX_HOOK_BODY_BYTES).await
    }
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

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(Self {
            body: UnreadBody::take(request, body)?,
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
