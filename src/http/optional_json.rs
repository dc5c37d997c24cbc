//! A JSON request body that may be left out altogether.

use super::ErrorResponse;
use super::raw_json::MAX_BODY_BYTES;
use crate::events::ParseError;
use poem::{Request, RequestBody};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde_json::Value;

/// An optional JSON body of schema `T`: `None` when the request has no body.
/// JSON that is not valid for `T` is kept as the reason, for the handler to answer;
/// bytes that are not JSON are refused here.
pub struct OptionalJson<T>(pub Option<Result<T, String>>);

impl<'a, T: ParseFromJSON> ApiExtractor<'a> for OptionalJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: <T as Type>::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let bytes = body.take()?.into_bytes_limit(MAX_BODY_BYTES).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if let Some(content_type) = request.content_type()
            && !<Json<T> as Payload>::check_content_type(content_type)
        {
            return Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into());
        }
        // Bytes that are not JSON get the answer they get on every endpoint: 400.
        let value = serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| ErrorResponse::from(ParseError::Syntax(e.to_string())))?;
        let parsed = T::parse_from_json(Some(value)).map_err(|e| e.into_message());
        Ok(Self(Some(parsed)))
    }
}
