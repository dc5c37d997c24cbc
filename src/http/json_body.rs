//! JSON bodies of profile edits and syncs, read only when the handler asks, after its
//! checks, and never past [`MAX_EDIT_BODY_BYTES`].

use super::ErrorResponse;
use super::body::{MAX_EDIT_BODY_BYTES, UnreadBody, edit_body_meta, json_value};
use poem::{Request, RequestBody};
use poem_openapi::error::ContentTypeError;
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaRequest, Registry};
use poem_openapi::types::ParseFromJSON;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use std::marker::PhantomData;

/// A JSON body of schema `T` that the request must carry, read by [`JsonBody::parse`].
pub type JsonBody<T> = EditJson<T, true>;

/// A JSON body of schema `T` that the request may leave out, read by
/// [`OptionalJson::read`].
pub type OptionalJson<T> = EditJson<T, false>;

/// A JSON body of schema `T`, left unread until the handler asks; `REQUIRED` says
/// whether the request must carry one.
pub struct EditJson<T, const REQUIRED: bool> {
    body: UnreadBody,
    /// Whether the request's content type, if it has one, is JSON.
    json_content_type: bool,
    _schema: PhantomData<fn() -> T>,
}

impl<T: ParseFromJSON> EditJson<T, true> {
    /// Reads and parses the body: 413 past the limit, 400 for bytes that are not JSON,
    /// 422 naming the field for JSON of another shape.
    pub async fn parse(self) -> Result<T, ErrorResponse> {
        let bytes = self.body.read(MAX_EDIT_BODY_BYTES).await?;
        let value = json_value(&bytes)?;
        T::parse_from_json(Some(value)).map_err(|e| ErrorResponse::unprocessable(e.into_message()))
    }
}

impl<T: ParseFromJSON> EditJson<T, false> {
    /// Reads the body: `None` when the request has none (or only whitespace). JSON that
    /// is not valid for `T` is kept as the reason, for the handler to answer; a body past
    /// the limit (413), bytes that are not JSON (400) and a body that is not sent as
    /// JSON (415) are refused.
    pub async fn read(self) -> Result<Option<Result<T, String>>, ErrorResponse> {
        let bytes = self.body.read(MAX_EDIT_BODY_BYTES).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        if !self.json_content_type {
            return Err(ErrorResponse::unsupported_media_type());
        }
        let value = json_value(&bytes)?;
        Ok(Some(
            T::parse_from_json(Some(value)).map_err(|e| e.into_message()),
        ))
    }
}

impl<'a, T: ParseFromJSON, const REQUIRED: bool> ApiExtractor<'a> for EditJson<T, REQUIRED> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        edit_body_meta::<T>(REQUIRED)
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let content_type = request.content_type();
        let json_content_type = content_type.is_none_or(<Json<T> as Payload>::check_content_type);
        // A required body's content type needs no body, so it is refused here, as
        // poem-openapi refuses it for every JSON body; an optional body may be empty.
        if REQUIRED && !json_content_type {
            return Err(ContentTypeError::NotSupported {
                content_type: content_type.unwrap_or_default().to_owned(),
            }
            .into());
        }
        if REQUIRED && content_type.is_none() {
            return Err(ContentTypeError::ExpectContentType.into());
        }
        Ok(Self {
            body: UnreadBody::take(request, body)?,
            json_content_type,
            _schema: PhantomData,
        })
    }
}
